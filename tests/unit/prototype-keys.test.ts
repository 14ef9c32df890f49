/**
 * Strings from outside (stored items anyone with DynamoDB write access can edit, Slack's answers) used to
 * pick an entry of a table: names of Object.prototype members must read as unknown, never as the member.
 */
import { ErrorCode } from '@slack/web-api';
import {
  type ApprovalRecord,
  type ApprovalStatus,
  canTransition,
  type DecisionOutput,
  type Reach,
  reachGroupMembers,
} from '../../src/domain/approval';
import { toSlackApiError } from '../../src/slack/client';
import { decisionHeadline, resolvedMessage } from '../../src/slack/messages/approval-message';
import fixture from '../fixtures/approvals/record.json';
import { PROTOTYPE_NAMES } from '../support/prototype-names';

const RECORD = fixture as ApprovalRecord;

describe.each(PROTOTYPE_NAMES)('a stored value or code %s', (name) => {
  test('is no status any transition leads from', () => {
    // Act / Assess
    expect(canTransition(name as ApprovalStatus, 'APPROVED')).toBe(false);
  });

  test('shows as itself in a resolved message and a decision headline, not as a function', () => {
    // Prepare
    const decision: DecisionOutput = {
      decision: 'DENIED',
      decidedBy: { channel: name as 'slack', id: 'someone', name: '' },
      decidedAt: '2026-01-01T00:00:00.000Z',
    } as DecisionOutput;
    // Act
    const message = JSON.stringify(resolvedMessage({ ...RECORD, status: name as ApprovalStatus }, 'x'));
    const headline = decisionHeadline(decision);
    // Assess
    expect(message).not.toMatch(/function|native code|\[object/);
    expect(headline).not.toMatch(/function|native code|\[object/);
    expect(headline).toContain(name);
  });

  test('from Slack gets no hint', () => {
    // Prepare
    const error = Object.assign(new Error('platform'), {
      code: ErrorCode.PlatformError,
      data: { error: name },
    });
    // Act
    const mapped = toSlackApiError('chat.postMessage', error);
    // Assess
    expect(mapped.code).toBe(name);
    expect(mapped.message).toBe(`Slack chat.postMessage failed: ${name}`);
  });

  test('as a group name in a record of the old, keyed form reads as that group only', () => {
    // Prepare: JSON.parse makes `__proto__` an own key, as the DynamoDB unmarshaller does not.
    const reach = JSON.parse(
      `{"attachedTo":[],"groupMembers":{${JSON.stringify(name)}:["ana"]},"digest":"d","count":1}`,
    ) as Reach;
    // Act / Assess
    expect(reachGroupMembers(reach)).toEqual([{ group: name, users: ['ana'] }]);
    expect(reachGroupMembers({ groupMembers: {} as never })).toEqual([]);
  });
});
