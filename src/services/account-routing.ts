import type { IAMClient } from '@aws-sdk/client-iam';
import type { ApprovalIndex } from '../adapters/approval-store';
import type { IamGateway } from '../adapters/iam-gateway';
import {
  type AccountSettings,
  NO_ACCOUNT_SETTINGS,
  type ResolvedAccountSettings,
  resolveAccountSettings,
  type StageSettings,
} from '../domain/account-settings';
import type { ApprovalRecord } from '../domain/approval';
import { eventIdentifiers } from '../domain/cloudtrail';
import { eventAccount } from '../domain/event-account';
import type { Notice } from '../domain/notices';
import type { PrincipalType } from '../domain/policy-change';
import { TransientError } from '../errors';
import type { Logger } from '../logger';
import {
  type IamClientForAccount,
  MEMBER_ROLE_USES,
  memberRoleArn,
  memberRoleNameFor,
  roleSessionName,
} from './iam-client-for-account';
import type { AccountLabel, OrganizationDirectory } from './organization-directory';
import { QuarantineService, type QuarantineServiceOptions } from './quarantine-service';

/** Whether the workflow may act in the account an event names. */
export type Admission =
  | { readonly ok: true; readonly accountId: string; readonly central: boolean }
  | { readonly ok: false; readonly reason: string; readonly claimed: readonly string[] };

/** The organization: its id, the member roles' common name (`memberRoleNameFor`) in every member account. */
export interface OrganizationSettings {
  /** `aws:PrincipalOrgID`, `o-…`. */
  readonly organizationId: string;
  readonly memberRoleName: string;
  readonly partition: string;
}

export interface AccountRoutingOptions {
  /**
   * The account PolicyGate runs in. Without it (and without an organization) no account can be
   * admitted: an event is never acted on in an account PolicyGate cannot name (fail closed).
   */
  readonly centralAccountId?: string;
  /** Absent = a single account: only the central account's events are admitted. */
  readonly organization?: OrganizationSettings;
  readonly directory?: OrganizationDirectory;
  readonly iam: IamClientForAccount;
  /** The IAM gateway over an account's client. */
  readonly gatewayOf: (client: IAMClient) => IamGateway;
  /** What every account's quarantine service gets; its approval index is narrowed to the account. */
  readonly quarantine: Omit<QuarantineServiceOptions, 'index'> & { readonly index?: ApprovalIndex };
  readonly settings?: AccountSettings;
  readonly stage: StageSettings;
  readonly logger: Logger;
}

/** What the workflow needs to know about the account a change is in. */
export interface AccountContext extends ResolvedAccountSettings {
  /** From Organizations; absent on a single-account stage. */
  readonly label?: AccountLabel;
}

/**
 * Which account an event acts in, and everything per account: the IAM client (the member role in a
 * member account), PolicyGate's own role there, and the settings that apply. An event is admitted only
 * when every account field it carries agrees and the account is the central account or an ACTIVE account
 * of the organization; anything else is refused, and the caller alerts.
 */
export class AccountRouting {
  constructor(private readonly options: AccountRoutingOptions) {}

  /**
   * Whether PolicyGate may act in the account `event` names.
   * @throws TransientError when the organization's accounts cannot be read (the step is retried).
   */
  async admit(event: unknown): Promise<Admission> {
    const named = eventAccount(event);
    if (!named.ok) return named;
    const { accountId } = named;
    const { centralAccountId, organization, directory } = this.options;
    if (accountId === centralAccountId) return { ok: true, accountId, central: true };
    if (!organization || !directory) {
      return {
        ok: false,
        reason: centralAccountId
          ? `the event is for account ${accountId}, but this PolicyGate gates only its own account ${centralAccountId}`
          : `the event is for account ${accountId}, but this PolicyGate does not know its own account (ACCOUNT_ID is not set)`,
        claimed: [accountId],
      };
    }
    const member = (accounts: readonly { id: string }[]) => accounts.some((a) => a.id === accountId);
    try {
      // A miss is read again, uncached: an account that joined within the cache time is a member.
      if (
        member(await directory.activeAccounts()) ||
        member(await directory.activeAccounts({ fresh: true }))
      ) {
        return { ok: true, accountId, central: false };
      }
    } catch (error) {
      // Not knowing is no refusal: a real change in a member account would stay in force. The step fails
      // and is retried; when the retries run out, HandleFailure alerts and the execution fails (alarmed).
      this.options.logger.error('organization accounts not read', { accountId, error });
      throw new TransientError(
        `the organization's accounts could not be read, so account ${accountId} can be neither confirmed nor refused`,
        { cause: error },
      );
    }
    return {
      ok: false,
      reason: `account ${accountId} is not an active account of organization ${organization.organizationId}`,
      claimed: [accountId],
    };
  }

  /**
   * The quarantine service acting in `accountId`, with a session named after `label` (the approval id).
   * Its approval index only returns the account's own approvals: principal names repeat across accounts.
   */
  async quarantineIn(accountId: string, label: string): Promise<QuarantineService> {
    const client = await this.options.iam.iamFor(accountId, roleSessionName(label));
    const { index, ...rest } = this.options.quarantine;
    return new QuarantineService(this.options.gatewayOf(client), {
      ...rest,
      ...(index && { index: accountIndex(index, accountId) }),
    });
  }

  /** PolicyGate's own roles in `accountId`: the central roles there, the member roles in a member account. */
  ownRoleArnsIn(accountId: string, centralRoleArns: readonly string[]): readonly string[] {
    const { organization, centralAccountId } = this.options;
    if (accountId === centralAccountId || !organization) return centralRoleArns;
    return memberRoleArns(organization, accountId);
  }

  /** The settings that apply to `accountId` (its own entry, its nearest OU, the stage's). */
  async contextOf(accountId: string): Promise<AccountContext> {
    const { directory, organization, settings = NO_ACCOUNT_SETTINGS, stage } = this.options;
    // Without the account's parents its OU's settings (approvers above all) are unknown: the read failing
    // fails the step (retried, then alerted), never falls back to looser settings.
    const label = organization && directory ? await directory.describeAccount(accountId) : undefined;
    const path = label?.path.map((p) => p.id) ?? [];
    return { ...resolveAccountSettings(settings, accountId, path, stage), ...(label && { label }) };
  }

  /** The critical notice for a refused event: nothing was done, and why. */
  refusalNotice(event: unknown, admission: Extract<Admission, { ok: false }>): Notice {
    const identifiers = Object.entries(eventIdentifiers(event)).map(([key, value]) => `  ${key}: ${value}`);
    return {
      severity: 'critical',
      title: `Event refused: ${admission.reason}`.slice(0, 300),
      lines: [
        `PolicyGate refused an IAM event: ${admission.reason}.`,
        'Nothing was read, quarantined or changed in any account: PolicyGate acts only in the account an event is for, and only when that account is its own or an active member of its organization.',
        'Either someone forged an event (anyone who can put events on the bus or start the workflow can), or an account that is not (or no longer) in the organization forwards its events. If the change is real, it is NOT contained: check the account named below.',
        ...(identifiers.length > 0 ? ['', 'What the event identified:', ...identifiers] : []),
      ],
    };
  }
}

/** The member stack's roles in `accountId` (quarantine, restore, read): PolicyGate's own roles there. */
export function memberRoleArns(
  organization: Pick<OrganizationSettings, 'partition' | 'memberRoleName'>,
  accountId: string,
): string[] {
  return MEMBER_ROLE_USES.map((use) =>
    memberRoleArn(organization.partition, accountId, memberRoleNameFor(organization.memberRoleName, use)),
  );
}

/** `index`, returning only approvals of changes in `accountId`. */
export function accountIndex(index: ApprovalIndex, accountId: string): ApprovalIndex {
  const mine = (records: ApprovalRecord[]) => records.filter((r) => r.change.accountId === accountId);
  return {
    byPolicy: async (policyArn: string) => mine(await index.byPolicy(policyArn)),
    byGroup: async (groupName: string) => mine(await index.byGroup(groupName)),
    byPrincipal: async (type: PrincipalType, name: string) => mine(await index.byPrincipal(type, name)),
  };
}
