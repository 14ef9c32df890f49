import fc from 'fast-check';
import type { ApprovalRecord } from '../../src/domain/approval';
import {
  GROUP_ID,
  groupActionValue,
  groupIdOf,
  membersListedIn,
  parseGroupActionValue,
} from '../../src/domain/slack-group';
import { APPROVAL_ID } from '../../src/slack/interactivity-request';
import fixture from '../fixtures/approvals/record.json';

const RECORD = fixture as ApprovalRecord;

function at(eventTime: string, actor: Partial<ApprovalRecord['change']['actor']> = {}): ApprovalRecord {
  return { ...RECORD, change: { ...RECORD.change, eventTime, actor: { ...RECORD.change.actor, ...actor } } };
}

describe('groupIdOf', () => {
  test('the same actor in the same window and channel shares a group; another window, actor or channel does not', () => {
    // Prepare
    const first = at('2025-03-11T09:42:01Z');
    const sameWindow = at('2025-03-11T09:42:59Z');
    const nextWindow = at('2025-03-11T09:43:00Z');
    const otherActor = at('2025-03-11T09:42:30Z', { sessionName: 'sam@example.com' });
    // Act
    const id = groupIdOf(first, 'C0APPROVALS', 60);
    // Assess
    expect(id).toMatch(GROUP_ID);
    expect(groupIdOf(sameWindow, 'C0APPROVALS', 60)).toBe(id);
    expect(groupIdOf(nextWindow, 'C0APPROVALS', 60)).not.toBe(id);
    expect(groupIdOf(otherActor, 'C0APPROVALS', 60)).not.toBe(id);
    expect(groupIdOf(first, 'C0OTHER', 60)).not.toBe(id);
  });

  test('a window of 0 turns grouping off, and a change naming nobody is never grouped', () => {
    // Prepare
    const anonymous = at('2025-03-11T09:42:01Z', {
      arn: undefined,
      principalId: undefined,
      sessionIssuer: undefined,
    });
    // Act / Assess
    expect(groupIdOf(RECORD, 'C0APPROVALS', 0)).toBeUndefined();
    expect(groupIdOf(anonymous, 'C0APPROVALS', 60)).toBeUndefined();
  });

  test('a group id is never an approval id, so no per-change button can name a group', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date(0), max: new Date('2100-01-01'), noInvalidDate: true }), (date) => {
        const id = groupIdOf(at(date.toISOString()), 'C0APPROVALS', 60);
        expect(id).toBeDefined();
        expect(APPROVAL_ID.test(id ?? '')).toBe(false);
      }),
    );
  });
});

describe('membersListedIn', () => {
  test('a version lists only the members added at or before it', () => {
    // Prepare
    const group = {
      groupId: `group#${'a'.repeat(32)}`,
      version: 3,
      members: [
        { approvalId: 'a-1', version: 1 },
        { approvalId: 'a-2', version: 2 },
        { approvalId: 'a-3', version: 3 },
      ],
    };
    // Act / Assess
    expect(membersListedIn(group, 2)).toEqual(['a-1', 'a-2']);
    expect(membersListedIn(group, 3)).toEqual(['a-1', 'a-2', 'a-3']);
  });
});

describe('parseGroupActionValue', () => {
  test('reads back what groupActionValue wrote', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9a-f]{32}$/),
        fc.integer({ min: 1, max: 999_999 }),
        (hex, version) => {
          const groupId = `group#${hex}`;
          expect(parseGroupActionValue(groupActionValue(groupId, version))).toEqual({ groupId, version });
        },
      ),
    );
  });

  test('anything else is refused without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (value) => {
        const parsed = parseGroupActionValue(value);
        if (parsed !== undefined) expect(groupActionValue(parsed.groupId, parsed.version)).toBe(value);
      }),
    );
    for (const value of [
      `group#${'a'.repeat(32)}:0`,
      `group#${'a'.repeat(32)}:01`,
      `group#${'A'.repeat(32)}:1`,
      `group#${'a'.repeat(32)}:1 `,
      `group#${'a'.repeat(31)}:1`,
      'decision-test-1',
    ]) {
      expect(parseGroupActionValue(value)).toBeUndefined();
    }
  });
});
