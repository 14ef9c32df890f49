import type { ApprovalRecord } from '../../src/domain/approval';
import { approvalRequestedMessage } from '../../src/domain/messages';
import fixture from '../fixtures/approvals/record.json';

const RECORD = { ...(fixture as ApprovalRecord), status: 'PENDING' as const };
const LINKS = {
  address: 'secops@example.com',
  approve: 'https://page.example/?a=x&d=approve&e=1&s=AAAA',
  deny: 'https://page.example/?a=x&d=deny&e=1&s=BBBB',
};

describe('decision links in the approval e-mail', () => {
  test.each([
    ['Slack posted', {}],
    ['Slack unavailable', { slackProblem: 'Slack did not answer in time' }],
  ])('%s: each link alone on its line after its label, with what a link proves', (_case, options) => {
    // Act
    const { message } = approvalRequestedMessage(RECORD, { ...options, links: LINKS });
    const lines = message.split('\n');
    // Assess
    expect(lines[lines.indexOf('Approve:') + 1]).toBe(LINKS.approve);
    expect(lines[lines.indexOf('Deny:') + 1]).toBe(LINKS.deny);
    expect(message).toContain('nothing is decided until you press its button');
    expect(message).toContain(`recorded as made through the link sent to ${LINKS.address}`);
    expect(message).not.toContain(RECORD.taskToken ?? 'no task token in the fixture');
  });

  test('a Deny-only e-mail says why there is no Approve link; no links object, no link lines', () => {
    // Act
    const denyOnly = approvalRequestedMessage(RECORD, {
      links: { address: LINKS.address, deny: LINKS.deny, note: 'This change needs 2 different approvers.' },
    }).message;
    const none = approvalRequestedMessage(RECORD).message;
    // Assess
    expect(denyOnly).not.toContain('Approve:');
    expect(denyOnly).toContain('This change needs 2 different approvers.');
    expect(none).not.toMatch(/Approve:|Deny:|link sent to/);
    expect(none).toContain('Decide in the PolicyGate Slack channel.');
  });
});
