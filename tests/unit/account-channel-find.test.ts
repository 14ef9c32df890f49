import type { AccountContextSource } from '../../src/adapters/account-approver-directory';
import { AccountRoutedChannel } from '../../src/adapters/account-channel';
import type { ApprovalRecord } from '../../src/domain/approval';
import type { ApprovalChannel } from '../../src/services/approval-channel';
import fixture from '../fixtures/approvals/record.json';

const RECORD = fixture as ApprovalRecord;

/** A channel that only answers `findRequest`, saying which channel was asked. */
function finder(channelId: string, asked: string[]): ApprovalChannel {
  const unused = () => Promise.reject(new Error('not used'));
  return {
    postRequest: unused,
    showState: unused,
    note: unused,
    showDecision: unused,
    tell: unused,
    postNotice: unused,
    async findRequest(record) {
      asked.push(channelId);
      return { channel: channelId, ts: `1741687371.00010${record.approvalId.length % 10}` };
    },
  };
}

describe('AccountRoutedChannel.findRequest', () => {
  test('a lost post is looked for in the channel of the request’s account, not the stage’s', async () => {
    // Prepare
    const asked: string[] = [];
    const contextOf = (async () => ({ slackChannelId: 'C0ACCOUNT' })) as unknown as AccountContextSource;
    const routed = new AccountRoutedChannel(
      finder('C0STAGE', asked),
      'C0STAGE',
      (id) => finder(id, asked),
      contextOf,
    );
    const stageOnly = new AccountRoutedChannel(
      finder('C0STAGE', asked),
      'C0STAGE',
      (id) => finder(id, asked),
      (async () => ({ slackChannelId: 'C0STAGE' })) as unknown as AccountContextSource,
    );
    // Act
    const found = await routed.findRequest(RECORD, RECORD.createdAt);
    const inStage = await stageOnly.findRequest(RECORD, RECORD.createdAt);
    // Assess
    expect(found?.channel).toBe('C0ACCOUNT');
    expect(inStage?.channel).toBe('C0STAGE');
    expect(asked).toEqual(['C0ACCOUNT', 'C0STAGE']);
  });
});
