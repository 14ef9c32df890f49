import type { ApprovalRecord, DecisionOutput } from '../../src/domain/approval';
import { approvalRequestedMessage, outcomeMessage } from '../../src/domain/messages';
import {
  APPROVE_ACTION_ID,
  approvalRequestMessage,
  DENY_ACTION_ID,
  resolvedMessage,
} from '../../src/slack/messages/approval-message';
import fixture from '../fixtures/approvals/record.json';
import { blockKitProblems, mrkdwnProblems, mrkdwnTexts } from '../support/block-kit-limits';

const RECORD = fixture as ApprovalRecord;
const NOW = new Date('2025-03-11T10:10:00.000Z');

function approval(who: string, name: string): DecisionOutput {
  return {
    decision: 'APPROVED',
    decidedBy: { id: who, name, channel: 'slack' },
    decidedAt: '2025-03-11T10:05:00.000Z',
    approvalId: RECORD.approvalId,
  };
}

const UNATTRIBUTED: ApprovalRecord = {
  ...RECORD,
  status: 'PENDING',
  attribution: { method: 'unattributed', reason: 'the AssumeRole event is not searchable yet' },
  requiredApprovals: 2,
  approvals: [approval('U0ANA', 'Ana')],
};

describe('the approval count and attribution in messages', () => {
  test('a pending request needing two approvers says "1 of 2 approvals", who gave it, and keeps its buttons', () => {
    // Act
    const message = approvalRequestMessage(UNATTRIBUTED, { now: NOW });
    const text = JSON.stringify(message.blocks);
    // Assess
    expect(blockKitProblems(message)).toEqual([]);
    expect(text).toContain('1 of 2 approvals');
    expect(text).toContain('<@U0ANA>');
    expect(text).toContain('no person could be named as its author');
    expect(text).toContain(APPROVE_ACTION_ID);
    expect(text).toContain(DENY_ACTION_ID);
    expect(text).toMatch(/Attributed to:\* nobody: unattributed/);
  });

  test('a critical grant says why two approvers are needed', () => {
    const record: ApprovalRecord = {
      ...RECORD,
      status: 'PENDING',
      attribution: { method: 'identity-center', person: 'priya.raman@example.com', via: 'identity-center' },
      criticalActions: ['iam:PassRole'],
      requiredApprovals: 2,
    };
    const text = JSON.stringify(approvalRequestMessage(record, { now: NOW }).blocks);
    expect(text).toContain('0 of 2 approvals');
    expect(text).toContain('critical `iam:PassRole`');
  });

  test('a one-approver request shows no count', () => {
    const record: ApprovalRecord = {
      ...RECORD,
      status: 'PENDING',
      attribution: { method: 'iam-user', person: 'jdoe', via: 'iam-user' },
    };
    expect(JSON.stringify(approvalRequestMessage(record, { now: NOW }).blocks)).not.toContain('approvals*');
  });

  test('a hostile attributed name is escaped', () => {
    // Prepare
    const record: ApprovalRecord = {
      ...RECORD,
      attribution: { method: 'source-identity', person: '<!channel>@x', via: 'source-identity' },
    };
    // Act
    const message = approvalRequestMessage(record, { now: NOW });
    // Assess
    for (const text of mrkdwnTexts(message)) expect(mrkdwnProblems(text)).toEqual([]);
    expect(JSON.stringify(message.blocks)).not.toContain('<!channel>');
  });

  test('once approved, the message says 2 of 2 and names both approvers', () => {
    const record: ApprovalRecord = {
      ...UNATTRIBUTED,
      status: 'APPROVED',
      decision: { ...approval('U0SAM', 'Sam'), decidedAt: '2025-03-11T10:07:00.000Z' },
    };
    const text = JSON.stringify(resolvedMessage(record, 'Approved').blocks);
    expect(text).toContain('2 of 2 approvals');
    expect(text).toContain('<@U0ANA>');
    expect(text).toContain('<@U0SAM>');
  });

  test('the e-mails say who the change is attributed to and count the approvals', () => {
    const request = approvalRequestedMessage(UNATTRIBUTED).message;
    expect(request).toContain(
      'Attributed to: nobody: unattributed (the AssumeRole event is not searchable yet)',
    );
    expect(request).toMatch(/Approvals: 1 of 2 .*\n {2}- approved by Ana \(slack U0ANA\)/);
    const outcome = outcomeMessage({ ...UNATTRIBUTED, status: 'APPROVED' }, 'Restored').message;
    expect(outcome).toContain('Approvals: 2 of 2');
  });
});
