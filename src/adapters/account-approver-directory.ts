import type { ApproverSet } from '../domain/account-settings';
import type { ApprovalRecord } from '../domain/approval';
import type { AccountContext } from '../services/account-routing';
import type { ApproverDirectory, DirectoryEntry } from '../services/decision-service';

/** Where a change's account settings come from (the routing's `contextOf`). */
export type AccountContextSource = (accountId: string) => Promise<AccountContext>;

/**
 * The approvers of the approval's own account: the account's entry, else its nearest OU's, else the
 * stage's (`account-settings.ts`). One Slack directory per approver set, so group reads stay cached. An
 * approver of OU A is no approver of an account in OU B; a lookup without a record, or whose account's
 * settings cannot be read, lets nobody through.
 */
export class AccountApproverDirectory implements ApproverDirectory {
  private readonly directories = new Map<string, ApproverDirectory>();

  constructor(
    private readonly contextOf: AccountContextSource,
    private readonly directoryFor: (approvers: ApproverSet) => ApproverDirectory,
  ) {}

  async lookUp(deciderId: string, record?: ApprovalRecord): Promise<DirectoryEntry> {
    if (!record) return { approver: false, reason: "the approval's account is unknown" };
    const context = await this.contextOf(record.change.accountId);
    const { approvers } = context;
    const key = JSON.stringify([[...approvers.slackUserIds].sort(), [...approvers.slackUsergroupIds].sort()]);
    let directory = this.directories.get(key);
    if (!directory) {
      if (this.directories.size >= 1000) this.directories.clear();
      directory = this.directoryFor(approvers);
      this.directories.set(key, directory);
    }
    const entry = await directory.lookUp(deciderId, record);
    if (entry.approver || context.from.approvers === 'stage') return entry;
    return {
      ...entry,
      reason: `you are not one of the approvers of account ${record.change.accountId} (set for ${context.from.approvers})`,
    };
  }
}

/**
 * A channel that decides only for accounts that use the stage's approvers (the stage's alert mailbox):
 * an account or OU with its own approvers is decided by them, in Slack.
 */
export class StageApproversOnlyDirectory implements ApproverDirectory {
  constructor(
    private readonly inner: ApproverDirectory,
    private readonly contextOf: AccountContextSource,
  ) {}

  async lookUp(deciderId: string, record?: ApprovalRecord): Promise<DirectoryEntry> {
    if (!record) return { approver: false, reason: "the approval's account is unknown" };
    const context = await this.contextOf(record.change.accountId);
    if (context.from.approvers !== 'stage') {
      return {
        approver: false,
        reason: `account ${record.change.accountId} has its own approvers (set for ${context.from.approvers}); decide in Slack`,
      };
    }
    return this.inner.lookUp(deciderId, record);
  }
}
