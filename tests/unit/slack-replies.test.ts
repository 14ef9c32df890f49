import type { ApprovalRecord } from '../../src/domain/approval';
import type { DecisionResult } from '../../src/services/decision-service';
import { auditFor, replyFor } from '../../src/slack/replies';
import record from '../fixtures/approvals/record.json';

const approval = record as unknown as ApprovalRecord;

describe('Slack replies and thread lines', () => {
  test.each(['<!channel>', 'U0ANA> <!here', 'U0ANA&amp;', '<@U0ANA|x>', 'u0ana'])(
    'a decider id that is no Slack user id (%s) is never mentioned, only a plain "Someone"',
    (userId) => {
      // Prepare
      const result: DecisionResult = { status: 'unauthorised', reason: 'not an approver', record: approval };
      // Act
      const line = auditFor(result, userId, 'APPROVED');
      // Assess
      expect(line).toMatch(/^Someone tried to approve: refused/);
      expect(line).not.toContain('<');
      expect(line).not.toContain(userId);
    },
  );

  test('a Slack user id is mentioned as such', () => {
    // Act
    const line = auditFor(
      {
        status: 'wrong-message',
        reason: 'this button is not on the request’s own Slack message',
        record: approval,
      },
      'W0ANA',
      'DENIED',
    );
    // Assess
    expect(line).toBe(
      '<@W0ANA> tried to deny from another message: refused (this button is not on the request’s own Slack message).',
    );
  });

  test('a click from another message is told why, and that nothing changed', () => {
    // Act
    const reply = replyFor(
      {
        status: 'wrong-message',
        reason: 'this request has no Slack message of its own to decide from',
        record: approval,
      },
      'abc',
    );
    // Assess
    expect(reply).toMatch(/no Slack message of its own.*Nothing changed\.$/);
  });
});
