import fc from 'fast-check';
import { buildBlockActionsPayload } from '../../local/slack';
import { ACTIONS } from '../../src/slack/app';
import { readClick } from '../../src/slack/interactivity-request';
import { MAX_MEMBERS_PER_MESSAGE } from '../../src/slack/messages/group-message';

/**
 * The gate in front of Bolt takes a group message's buttons in exactly the forms PolicyGate draws: each
 * change's own `policy_gate_{approve,deny}_m<n>` (n from 1 to the most a message lists, no leading zero)
 * carrying an approval id, and `policy_gate_{approve,deny}_all` carrying `group#<32 hex>:<version>`.
 */

const WORKSPACE = { teamId: 'T0POLICYGATE', appId: 'A0POLICYGATE' };
const GROUP = `group#${'0123456789abcdef'.repeat(2)}`;

function click(actionId: string, value: string) {
  return readClick(
    buildBlockActionsPayload({
      user: { id: 'U0ANA' },
      action: { actionId, blockId: 'policy_gate_decision_m1', value },
      message: { channel: 'C0POLICYGATE', ts: '1800000000.000100' },
      responseUrl: 'https://hooks.slack.com/actions/x',
    }) as never,
    WORKSPACE,
    ACTIONS,
  );
}

describe('the interactivity gate and a group message’s buttons', () => {
  test('each change’s own buttons, numbered 1 to the most a message lists, carry an approval id', () => {
    // Act
    const first = click('policy_gate_approve_m1', 'abc-123');
    const last = click(`policy_gate_deny_m${MAX_MEMBERS_PER_MESSAGE}`, 'abc-123');
    // Assess
    expect(first).toMatchObject({ ok: true, actionId: 'policy_gate_approve_m1', approvalId: 'abc-123' });
    expect(last).toMatchObject({ ok: true, approvalId: 'abc-123' });
    expect(click('policy_gate_approve_m1', `${GROUP}:1`)).toMatchObject({ ok: false, status: 400 });
  });

  test('"Approve all" / "Deny all" carry a group and a version, read as numbers', () => {
    // Act
    const all = click('policy_gate_approve_all', `${GROUP}:17`);
    // Assess
    expect(all).toMatchObject({ ok: true, group: { groupId: GROUP, version: 17 } });
    expect(click('policy_gate_deny_all', `${GROUP}:1`)).toMatchObject({ ok: true });
    expect(click('policy_gate_deny_all', 'abc-123')).toMatchObject({ ok: false, status: 400 });
  });

  test('no other member number is an action: m0, leading zeros, beyond the last, other words', () => {
    for (const actionId of [
      'policy_gate_approve_m0',
      'policy_gate_approve_m01',
      `policy_gate_approve_m${MAX_MEMBERS_PER_MESSAGE + 1}`,
      'policy_gate_approve_m',
      'policy_gate_approve_all_m1',
      'policy_gate_grant_all',
    ]) {
      expect(click(actionId, 'abc-123')).toMatchObject({ ok: false, reason: 'unknown action' });
    }
  });

  test('any action id is accepted only in the exact forms PolicyGate draws', () => {
    const exact = new Set([
      'policy_gate_approve',
      'policy_gate_deny',
      'policy_gate_open_console',
      'policy_gate_approve_all',
      'policy_gate_deny_all',
      ...Array.from({ length: MAX_MEMBERS_PER_MESSAGE }, (_, i) => [
        `policy_gate_approve_m${i + 1}`,
        `policy_gate_deny_m${i + 1}`,
      ]).flat(),
    ]);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc
            .tuple(fc.constantFrom('policy_gate_approve_', 'policy_gate_deny_'), fc.string({ maxLength: 6 }))
            .map(([prefix, tail]) => prefix + tail),
          fc
            .tuple(fc.constantFrom('policy_gate_approve_m', 'policy_gate_deny_m'), fc.nat(2_000))
            .map(([prefix, n]) => prefix + String(n)),
        ),
        (actionId) => {
          const result = click(actionId, 'abc-123');
          const allButton = actionId.endsWith('_all');
          // Assess: a known id passes (an all-button needs a group value, which this is not).
          expect(result.ok).toBe(exact.has(actionId) && !allButton);
          // Anything else is refused: as unknown, or before (not an action id's characters at all).
          if (!result.ok && !exact.has(actionId)) {
            expect(['unknown action', 'payload has no valid button action']).toContain(result.reason);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test('an all-button value is accepted only as group#<32 lower-case hex>:<1 to 999999, no leading zero>', () => {
    const valid = /^group#[0-9a-f]{32}:[1-9][0-9]{0,5}$/;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.nat(2_000_000).map((n) => `${GROUP}:${n}`),
          fc.string({ maxLength: 8 }).map((tail) => `${GROUP}:${tail}`),
          fc
            .string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 30, maxLength: 34 })
            .map((hex) => `group#${hex}:1`),
          fc.string({ maxLength: 4 }).map((pad) => `${pad}${GROUP}:1${pad}`),
        ),
        (value) => {
          const result = click('policy_gate_approve_all', value);
          // Assess
          expect(result.ok).toBe(valid.test(value));
          if (result.ok) expect(`${result.group?.groupId}:${result.group?.version}`).toBe(value);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
