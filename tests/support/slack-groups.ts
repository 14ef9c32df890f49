/**
 * What the group tests read from a sandbox: the approvals that wait for a decision, PolicyGate's request
 * messages in the stage's channel, and how each change is listed on them (from the blocks, as a person
 * sees them, not from the records).
 */
import { type Sandbox, SLACK_CHANNEL } from '../../local/sandbox';
import type { SlackMessage } from '../../local/slack';
import type { ApprovalRecord } from '../../src/domain/approval';
import { approvalIdOf } from './approvals';

/** Waits until `count` approvals wait for a decision with their task token stored; their records. */
export async function pendingApprovals(
  s: Sandbox,
  count: number,
  timeoutMs = 60_000,
): Promise<ApprovalRecord[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ids = s.sfn
      .pendingTasks()
      .map((task) => approvalIdOf(s.sfn.describeExecution(task.executionArn).input))
      .filter((id): id is string => id !== undefined);
    const records = (await Promise.all(ids.map((id) => s.store.get(id)))).filter(
      (r): r is ApprovalRecord => r?.taskToken !== undefined,
    );
    if (records.length >= count) return records;
    if (Date.now() > until) throw new Error(`only ${records.length} of ${count} approvals became pending`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** PolicyGate's request messages (top level, by their metadata) in the stage's channel. */
export function requestMessages(s: Sandbox): SlackMessage[] {
  return s.slack.messages(SLACK_CHANNEL).filter((m) => {
    const metadata = m.metadata as { event_type?: unknown } | undefined;
    return metadata?.event_type === 'policy_gate_request';
  });
}

/** How many times each approval id is listed (as "approval `id`") across `messages`. */
export function listings(messages: readonly SlackMessage[], ids: readonly string[]): number[] {
  return ids.map((id) =>
    messages.reduce((sum, m) => sum + (JSON.stringify(m.blocks).split(`approval \`${id}\``).length - 1), 0),
  );
}

/** The number of the change's own buttons in its group message (`…_m<n>`), from the message's blocks. */
export function memberNumber(message: SlackMessage | undefined, approvalId: string): number {
  const blocks = (message?.blocks ?? []) as { block_id?: string; text?: { text?: string } }[];
  const line = blocks.find((b) => b.text?.text?.includes(`approval \`${approvalId}\``));
  const n = /^policy_gate_member_m(\d+)$/.exec(line?.block_id ?? '')?.[1];
  if (!n) throw new Error(`approval ${approvalId} is not listed in the message`);
  return Number(n);
}

/** Waits until `condition` holds, checking every 100 ms. */
export async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
