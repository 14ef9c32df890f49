import { decisions, type Sandbox, SLACK_USERS } from '../../local/sandbox';
import type { ApprovalRecord } from '../../src/domain/approval';
import type { DecisionResult } from '../../src/services/decision-service';

/** The approval id of an execution: its input's CloudTrail event id. */
export function approvalIdOf(input: unknown): string | undefined {
  const id = (input as { detail?: { eventID?: unknown } } | undefined)?.detail?.eventID;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Waits until `count` approvals wait for a decision and their request step is done (task token stored,
 * request e-mail sent: a step still running when a test ends would reach the next test's stand-ins) and
 * returns their records, oldest execution first. Fails after about ten seconds.
 */
export async function waitForPending(sandbox: Sandbox, count = 1): Promise<ApprovalRecord[]> {
  for (let i = 0; i < 400; i++) {
    const records: ApprovalRecord[] = [];
    for (const task of sandbox.sfn.pendingTasks()) {
      const id = approvalIdOf(sandbox.sfn.describeExecution(task.executionArn).input);
      const record = id === undefined ? undefined : await sandbox.store.get(id);
      const requested = sandbox.sns.messages.some(
        (m) => /approval needed/.test(m.subject ?? '') && m.message.includes(`Approval id: ${id}`),
      );
      if (record?.taskToken && requested) records.push(record);
    }
    if (records.length >= count) return records;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`fewer than ${count} approvals became pending`);
}

/** The SNS messages whose subject matches, for assertions on what the team was told. */
export function mails(sandbox: Sandbox, subject: RegExp): { subject?: string; message: string }[] {
  return sandbox.sns.messages.filter((m) => subject.test(m.subject ?? ''));
}

/** Polls `check` until it returns something other than `undefined`/`false`; fails after about ten seconds. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the expected state was never reached');
}

/**
 * Approves through the decision service with as many different approvers as the approval needs (two for an
 * unattributed change or a critical grant): Ana, then Sam, until the approval is more than counted.
 */
export async function approveFully(approvalId: string): Promise<DecisionResult> {
  let result: DecisionResult | undefined;
  for (const approver of [SLACK_USERS.ana, SLACK_USERS.sam]) {
    result = await decisions().decide(approvalId, 'APPROVED', { channel: 'slack', id: approver.id });
    if (result.status !== 'approval-counted') return result;
  }
  return result as DecisionResult;
}

/**
 * Waits until one approval's request step is done (task token stored, Slack message posted, request e-mail
 * sent) and returns its record: `waitForPending` for a sandbox that other approvals share.
 */
export function waitForRequest(sandbox: Sandbox, approvalId: string): Promise<ApprovalRecord> {
  return eventually(async () => {
    const record = await sandbox.store.get(approvalId);
    const mailed = sandbox.sns.messages.some(
      (m) => /approval needed/.test(m.subject ?? '') && m.message.includes(`Approval id: ${approvalId}`),
    );
    return record?.taskToken && record.slackMessage && mailed ? record : undefined;
  });
}

/** Waits for the executions an approval started to end (other approvals' runs in the sandbox may go on). */
export async function settleApproval(sandbox: Sandbox, approvalId: string): Promise<void> {
  const runs = sandbox.executions.filter(
    (e) => approvalIdOf(sandbox.sfn.describeExecution(e.execution.executionArn).input) === approvalId,
  );
  if (runs.length === 0) throw new Error(`no execution for ${approvalId}`);
  await Promise.all(runs.map((e) => e.execution.done));
}
