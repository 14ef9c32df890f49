import fc from 'fast-check';
import type { ApprovalRecord, ApprovalStatus } from '../../src/domain/approval';
import {
  APPROVE_ACTION_ID,
  approvalRequestMessage,
  DENY_ACTION_ID,
} from '../../src/slack/messages/approval-message';
import {
  APPROVE_ALL_ACTION_ID,
  DENY_ALL_ACTION_ID,
  fitsInGroupMessage,
  GROUP_APPROVE_ACTION,
  GROUP_DENY_ACTION,
  groupRequestMessage,
  layoutGroupPages,
  offeredMembers,
  UNTRUSTED_MEMBER_STATUS,
} from '../../src/slack/messages/group-message';
import fixture from '../fixtures/approvals/record.json';
import { blockKitProblems, mrkdwnProblems, mrkdwnTexts } from '../support/block-kit-limits';

const RECORD = fixture as ApprovalRecord;
const VIEW = { groupId: `group#${'0'.repeat(32)}`, version: 10 };

function member(n: number, policyName = `policy-${n}`): ApprovalRecord {
  const target = { ...RECORD.change.target, policyName } as ApprovalRecord['change']['target'];
  return { ...RECORD, approvalId: `group-member-${n}`, change: { ...RECORD.change, target } };
}

type Json = Record<string, unknown>;

function buttons(message: { blocks: unknown[] }): Json[] {
  return (message.blocks as Json[]).filter((b) => b.type === 'actions').flatMap((b) => b.elements as Json[]);
}

describe('groupRequestMessage', () => {
  test('a group of one is shown as the request itself, with its own buttons; two become the list', () => {
    // Prepare
    const first = member(1);
    const withAccount = {
      ...member(2),
      account: { name: 'payments-prod', organizationalUnits: ['Payments'] },
    } as ApprovalRecord;
    // Act
    const alone = groupRequestMessage(VIEW, [first]);
    const two = groupRequestMessage(VIEW, [first, withAccount].reverse());
    // Assess: alone, exactly the single request's message (its buttons carry its approval id).
    expect(alone).toEqual(approvalRequestMessage(first));
    expect(buttons(alone).map((b) => b.value)).toEqual([first.approvalId, first.approvalId]);
    // Together: the list, per-change buttons, the account's name and OU, the restricted actions named.
    const ids = buttons(two).map((b) => String(b.action_id));
    expect(ids).toEqual(expect.arrayContaining([`${APPROVE_ACTION_ID}_m1`, APPROVE_ALL_ACTION_ID]));
    const text = JSON.stringify(two.blocks);
    expect(text).toContain('payments-prod');
    expect(text).toContain('Payments');
    const action = first.findings[0]?.action as string;
    expect(text).toContain(`\`${action}\``);
  });

  test('a member whose record fails its seals: listed by its id only, no buttons, not counted, not named', () => {
    // Prepare: the first member's record claims another actor and policy (written outside PolicyGate).
    const forged = {
      ...member(1, 'forged-policy'),
      change: {
        ...member(1).change,
        accountId: '999999999999',
        actor: { type: 'IAMUser', arn: 'arn:aws:iam::999999999999:user/mallory' },
      },
    } as ApprovalRecord;
    const members = [forged, member(2), member(3)];
    // Act
    const message = groupRequestMessage(VIEW, members, new Set([forged.approvalId]));
    // Assess
    expect(blockKitProblems(message)).toEqual([]);
    const text = JSON.stringify(message.blocks);
    expect(text).toContain(UNTRUSTED_MEMBER_STATUS);
    expect(text).not.toContain('forged-policy');
    expect(text).not.toContain('mallory');
    expect(text).not.toContain('999999999999');
    const ids = buttons(message).map((b) => String(b.action_id));
    expect(ids.filter((id) => GROUP_APPROVE_ACTION.test(id))).toEqual([
      `${APPROVE_ACTION_ID}_m2`,
      `${APPROVE_ACTION_ID}_m3`,
    ]);
    expect(message.text).toContain('(2 pending approval)');
  });

  test('ten changes: each listed with its own Approve/Deny carrying its id, and the all-buttons naming the version', () => {
    // Prepare
    const members = Array.from({ length: 10 }, (_, i) => member(i + 1));
    // Act
    const message = groupRequestMessage(VIEW, members);
    // Assess
    expect(blockKitProblems(message)).toEqual([]);
    for (const text of mrkdwnTexts(message)) expect(mrkdwnProblems(text)).toEqual([]);
    const all = buttons(message);
    const approves = all.filter((b) => GROUP_APPROVE_ACTION.test(String(b.action_id)));
    const denies = all.filter((b) => GROUP_DENY_ACTION.test(String(b.action_id)));
    expect(approves.map((b) => b.value)).toEqual(members.map((m) => m.approvalId));
    expect(denies.map((b) => b.value)).toEqual(members.map((m) => m.approvalId));
    expect(approves.every((b) => String(b.action_id).startsWith(`${APPROVE_ACTION_ID}_m`))).toBe(true);
    expect(denies.every((b) => String(b.action_id).startsWith(`${DENY_ACTION_ID}_m`))).toBe(true);
    const groupButtons = all.filter((b) =>
      [APPROVE_ALL_ACTION_ID, DENY_ALL_ACTION_ID].includes(String(b.action_id)),
    );
    expect(groupButtons.map((b) => b.value)).toEqual([`${VIEW.groupId}:10`, `${VIEW.groupId}:10`]);
    expect(groupButtons.every((b) => b.confirm !== undefined)).toBe(true);
  });

  test('a change that needs two approvers shows its count once one approved, as its own message would', () => {
    // Prepare: the second change grants a critical action and has one approval of two.
    const first = member(1);
    const critical: ApprovalRecord = {
      ...member(2),
      criticalActions: ['iam:PassRole'],
      approvals: [
        {
          decision: 'APPROVED',
          decidedBy: { id: 'U0ALICE', name: 'alice', channel: 'slack' },
          decidedAt: '2026-12-02T07:00:00.000Z',
          approvalId: 'group-member-2',
        },
      ],
    };
    const waiting: ApprovalRecord = { ...member(3), criticalActions: ['iam:PassRole'] };
    // Act
    const text = JSON.stringify(groupRequestMessage(VIEW, [first, critical, waiting]).blocks);
    // Assess: only the change with an approval says how many it has; the others just wait.
    expect(text.split('1 of 2 approvals')).toHaveLength(2);
    const line = text.slice(text.indexOf('*2.*'), text.indexOf('*3.*'));
    expect(line).toContain('1 of 2 approvals');
  });

  test('a decided change loses its buttons; once none is pending the all-buttons go too', () => {
    // Prepare
    const members = [member(1), { ...member(2), status: 'DENIED' as const }];
    // Act
    const partly = groupRequestMessage(VIEW, members);
    const done = groupRequestMessage(
      VIEW,
      members.map((m) => ({ ...m, status: 'DENIED' as const })),
    );
    // Assess
    expect(buttons(partly).filter((b) => b.value === 'group-member-2')).toEqual([]);
    expect(buttons(partly).some((b) => b.action_id === APPROVE_ALL_ACTION_ID)).toBe(true);
    expect(buttons(done)).toEqual([]);
  });
});

describe('fitsInGroupMessage', () => {
  test('a long burst needs more than one message, and every message that fits stays within Slack’s limits in any state', () => {
    const statuses: ApprovalStatus[] = ['PENDING', 'APPROVED', 'DENIED', 'EXPIRED', 'FAILED', 'RESTORED'];
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 1, maxLength: 128 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.constantFrom(...statuses), { minLength: 40, maxLength: 40 }),
        (names, states) => {
          // Prepare: fill messages the way a group grows, one member at a time.
          const pages: ApprovalRecord[][] = [[]];
          names.forEach((name, i) => {
            const next = member(i + 1, name);
            const page = pages[pages.length - 1] ?? [];
            if (fitsInGroupMessage(VIEW, [...page, next])) page.push(next);
            else pages.push([next]);
          });
          // Act / Assess: each page, whatever its members' states become, is a message Slack accepts.
          for (const page of pages) {
            const shown = page.map((m, i) => ({ ...m, status: states[i] ?? 'PENDING' }));
            expect(blockKitProblems(groupRequestMessage(VIEW, shown))).toEqual([]);
          }
        },
      ),
      { numRuns: 40 },
    );
    const burst = Array.from({ length: 60 }, (_, i) => member(i + 1));
    expect(fitsInGroupMessage(VIEW, burst)).toBe(false);
    expect(fitsInGroupMessage(VIEW, burst.slice(0, 10))).toBe(true);
  });
});

describe('layoutGroupPages', () => {
  test('members fill the last message and then start a new one; placed members never move', () => {
    // Prepare
    const burst = Array.from({ length: 30 }, (_, i) => member(i + 1));
    const records = new Map(burst.map((m) => [m.approvalId, m]));
    const ids = burst.map((m) => m.approvalId);
    const posted = { members: ids.slice(0, 2), message: { channel: 'C0APPROVALS', ts: '1741687371.000100' } };
    // Act
    const pages = layoutGroupPages(VIEW, ids, [posted], records);
    // Assess
    expect(pages.length).toBeGreaterThan(1);
    expect(pages[0]).toMatchObject({ message: posted.message });
    expect(pages[0]?.members.slice(0, 2)).toEqual(posted.members);
    expect(pages.flatMap((p) => p.members)).toEqual(ids);
    for (const page of pages) {
      const shown = page.members.map((id) => records.get(id) as ApprovalRecord);
      expect(fitsInGroupMessage(VIEW, shown)).toBe(true);
      expect(blockKitProblems(groupRequestMessage(VIEW, shown))).toEqual([]);
    }
    expect(layoutGroupPages(VIEW, ids, pages, records)).toEqual(pages);
  });

  test('a member whose record cannot be read is left for a later run', () => {
    // Prepare
    const [a, b] = [member(1), member(2)];
    // Act
    const pages = layoutGroupPages(VIEW, [a.approvalId, b.approvalId], [], new Map([[b.approvalId, b]]));
    // Assess
    expect(pages).toEqual([{ members: [b.approvalId] }]);
  });
});

describe('offeredMembers', () => {
  test('the pending changes a message offers buttons for, from its blocks; decided and untrusted ones not', () => {
    // Prepare
    const [a, b, c, d] = [member(1), member(2), member(3), member(4)];
    const decided = { ...(c as ApprovalRecord), status: 'DENIED' as ApprovalStatus };
    const blocks = groupRequestMessage(VIEW, [a, b, decided, d], new Set([d.approvalId])).blocks;
    // Act
    const offered = offeredMembers(JSON.parse(JSON.stringify(blocks)));
    // Assess
    expect([...offered].sort()).toEqual([a.approvalId, b.approvalId].sort());
  });

  test('reads nothing from anything else, and never an id that is not a member button’s value', () => {
    expect(offeredMembers(undefined).size).toBe(0);
    expect(offeredMembers('blocks').size).toBe(0);
    expect(
      offeredMembers([{ type: 'actions', elements: [{ action_id: 'policy_gate_approve_all', value: 'x' }] }])
        .size,
    ).toBe(0);
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.string({ maxLength: 12 }), { maxLength: 5 }), (junk, ids) => {
        const blocks = [
          junk,
          {
            type: 'actions',
            elements: ids.map((value, i) => ({ action_id: `policy_gate_approve_m${i + 1}`, value })),
          },
        ];
        const offered = offeredMembers(blocks);
        for (const id of offered)
          expect(ids.includes(id) || JSON.stringify(junk).includes(JSON.stringify(id))).toBe(true);
        for (const id of ids) expect(offered.has(id)).toBe(true);
      }),
    );
  });
});
