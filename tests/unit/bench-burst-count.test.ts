import { approvalIdsShown, shownApprovals } from '../../bench/burst';
import type { SlackMessage } from '../../local/slack';
import type { ApprovalRecord } from '../../src/domain/approval';
import { approvalRequestMessage } from '../../src/slack/messages/approval-message';
import { groupRequestMessage } from '../../src/slack/messages/group-message';
import fixture from '../fixtures/approvals/record.json';

const RECORD = fixture as ApprovalRecord;
const VIEW = { groupId: `group#${'0'.repeat(32)}`, version: 3 };

function record(approvalId: string, status: ApprovalRecord['status'] = 'PENDING'): ApprovalRecord {
  return { ...RECORD, approvalId, status };
}

/** A top-level message as the stand-in holds it. */
function posted(
  ts: string,
  content: { text: string; blocks: unknown[] },
  metadata?: unknown,
  threadTs?: string,
): SlackMessage {
  return {
    channel: 'C0POLICYGATE',
    ts,
    text: content.text,
    blocks: content.blocks,
    ...(metadata !== undefined && { metadata }),
    ...(threadTs !== undefined && { threadTs }),
    user: 'U0BOT',
    edits: 0,
    history: [],
    replyCount: 0,
  };
}

const requestMetadata = (id: string) => ({
  event_type: 'policy_gate_request',
  event_payload: { approval_id: id },
});

describe('what the burst benchmark counts as shown in Slack', () => {
  test('a group message shows every member it lists, decided ones (no buttons left) included', () => {
    // Prepare
    const message = groupRequestMessage(VIEW, [record('a-1'), record('a-2', 'DENIED'), record('a-3')]);
    // Act
    const ids = approvalIdsShown(posted('1.1', message));
    // Assess
    expect([...ids].sort()).toEqual(['a-1', 'a-2', 'a-3']);
  });

  test('a request message shows its approval, by its metadata and by its buttons', () => {
    // Prepare
    const content = approvalRequestMessage(record('solo'));
    // Act
    const byBoth = approvalIdsShown(posted('1.2', content, requestMetadata('solo')));
    const byButtons = approvalIdsShown(posted('1.3', content));
    const byMetadata = approvalIdsShown(
      posted('1.4', { text: 'decided', blocks: [] }, requestMetadata('solo')),
    );
    // Assess
    expect([...byBoth, ...byButtons, ...byMetadata]).toEqual(['solo', 'solo', 'solo']);
  });

  test('each approval is counted once per message showing it; a second message is a duplicate', () => {
    // Prepare
    const messages = [
      posted('1.1', approvalRequestMessage(record('a')), requestMetadata('a')),
      posted('1.2', groupRequestMessage(VIEW, [record('b'), record('c')])),
      posted('1.3', approvalRequestMessage(record('b')), requestMetadata('b')),
      // A thread reply naming a request is not a message in the channel.
      posted('1.4', approvalRequestMessage(record('c')), requestMetadata('c'), '1.2'),
      posted('1.5', { text: 'someone else', blocks: [] }),
    ];
    // Act
    const shown = shownApprovals(messages, ['a', 'b', 'c', 'd']);
    // Assess
    expect(shown).toEqual({ messages: 3, duplicates: 1, hidden: ['d'] });
  });
});
