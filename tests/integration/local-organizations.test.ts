import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import { type LocalOrganizationsServer, startOrganizationsServer } from '../../local/organizations';
import { type LocalStsServer, startStsServer } from '../../local/sts';
import { StsMemberIamClients } from '../../src/adapters/member-iam-clients';
import { OrganizationsDirectory } from '../../src/adapters/organizations-directory';
import { AwsOperationError } from '../../src/errors';

const CENTRAL = '123456789012';
const UNIT = 'ou-root-payments1';
const NESTED = 'ou-root-cardsteam';
const credentials = { accessKeyId: 'AKIDCENTRAL', secretAccessKey: 'local' };

describe('Organizations stand-in and the directory over it', () => {
  let server: LocalOrganizationsServer;
  let client: OrganizationsClient;
  beforeEach(async () => {
    const members = Array.from({ length: 25 }, (_, i) => ({
      id: String(200000000000 + i),
      name: `member-${i}`,
      parentId: i === 0 ? NESTED : UNIT,
    }));
    server = await startOrganizationsServer({
      organizationId: 'o-abcdefghij',
      managementAccountId: CENTRAL,
      rootId: 'r-root',
      units: [
        { id: UNIT, name: 'Payments' },
        { id: NESTED, name: 'Cards', parentId: UNIT },
      ],
      accounts: [
        { id: CENTRAL, name: 'security' },
        ...members,
        { id: '300000000000', name: 'gone', status: 'SUSPENDED' },
      ],
    });
    client = new OrganizationsClient({
      region: 'us-east-1',
      endpoint: server.endpoint,
      credentials,
      maxAttempts: 1,
    });
  });
  afterEach(async () => {
    client.destroy();
    await server.close();
  });

  test('lists every ACTIVE account across pages, and reads them again only after the cache time', async () => {
    // Prepare
    let now = 0;
    const directory = new OrganizationsDirectory(client, { accountsTtlSeconds: 60, now: () => now });
    // Act
    const first = await directory.activeAccounts();
    const callsAfterFirst = server.calls.length;
    await directory.activeAccounts();
    const callsWhileCached = server.calls.length;
    server.removeAccount('200000000003');
    now = 61_000;
    const later = await directory.activeAccounts();
    // Assess
    expect(first.map((a) => a.id)).toHaveLength(26);
    expect(first.map((a) => a.id)).not.toContain('300000000000');
    expect(callsAfterFirst).toBe(2);
    expect(callsWhileCached).toBe(callsAfterFirst);
    expect(later.map((a) => a.id)).not.toContain('200000000003');
  });

  test('describes an account with its parents, nearest first, up to the root', async () => {
    // Prepare
    const directory = new OrganizationsDirectory(client);
    // Act
    const label = await directory.describeAccount('200000000000');
    // Assess
    expect(label).toEqual({
      id: '200000000000',
      name: 'member-0',
      path: [
        { id: NESTED, name: 'Cards' },
        { id: UNIT, name: 'Payments' },
        { id: 'r-root', name: 'Root' },
      ],
    });
  });

  test('an unknown account is an error, and a failed read is not cached', async () => {
    // Prepare
    const directory = new OrganizationsDirectory(client);
    // Act
    const failed = directory.describeAccount('400000000000');
    // Assess
    await expect(failed).rejects.toThrow(AwsOperationError);
    await expect(failed).rejects.toThrow(/AccountNotFoundException/);
    server.putAccount({ id: '400000000000', name: 'late' });
    expect((await directory.describeAccount('400000000000')).name).toBe('late');
  });

  test('its own parsing refuses what Organizations refuses', async () => {
    // Act
    const tooMany = client.send(new ListAccountsCommand({ MaxResults: 21 }));
    const badToken = client.send(new ListAccountsCommand({ NextToken: 'not-a-token' }));
    // Assess
    await expect(tooMany).rejects.toMatchObject({ name: 'InvalidInputException' });
    await expect(badToken).rejects.toMatchObject({ name: 'InvalidInputException' });
  });
});

describe('StsMemberIamClients over the STS stand-in', () => {
  let sts: LocalStsServer;
  let client: STSClient;
  const EXTERNAL_ID = 'external-id-0123456789';
  const MEMBER = '210987654321';
  beforeEach(async () => {
    sts = await startStsServer({
      accountId: CENTRAL,
      callers: {
        AKIDCENTRAL: {
          type: 'AssumedRole',
          arn: `arn:aws:sts::${CENTRAL}:assumed-role/workflow/fn`,
          accountId: CENTRAL,
          sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${CENTRAL}:role/workflow` } },
        },
      },
      authorize: ({ externalId }) => (externalId === EXTERNAL_ID ? undefined : 'wrong external id'),
    });
    client = new STSClient({ region: 'us-east-1', endpoint: sts.endpoint, credentials, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await sts.close();
  });

  function clients(options: { externalId?: string; now?: () => number } = {}) {
    return new StsMemberIamClients(client, {
      centralAccountId: CENTRAL,
      partition: 'aws',
      region: 'us-east-1',
      memberRoleName: 'policy-gate-member',
      externalId: options.externalId ?? EXTERNAL_ID,
      ...(options.now && { now: options.now }),
    });
  }

  test('assumes the member role with the external id, a session naming the approval, reused until near expiry', async () => {
    // Prepare
    let now = Date.now();
    const iam = clients({ now: () => now });
    // Act
    const first = await iam.iamFor(MEMBER, 'policy-gate-0f8c2a4e-approval');
    const again = await iam.iamFor(MEMBER, 'policy-gate-0f8c2a4e-approval');
    const assumedOnce = sts.sessions().length;
    now += 14 * 60 * 1000;
    const renewed = await iam.iamFor(MEMBER, 'policy-gate-0f8c2a4e-approval');
    // Assess
    expect(again).toBe(first);
    expect(assumedOnce).toBe(1);
    expect(renewed).not.toBe(first);
    expect(sts.sessions().map((s) => [s.roleArn, s.sessionName])).toEqual([
      [`arn:aws:iam::${MEMBER}:role/policy-gate-member`, 'policy-gate-0f8c2a4e-approval'],
      [`arn:aws:iam::${MEMBER}:role/policy-gate-member`, 'policy-gate-0f8c2a4e-approval'],
    ]);
    expect(sts.events[0]?.requestParameters).toMatchObject({ externalId: EXTERNAL_ID });
  });

  test('the central account uses the function’s own credentials; a refused role is an error, never a fallback', async () => {
    // Prepare
    const iam = clients({ externalId: 'another-external-id-000' });
    // Act
    await iam.iamFor(CENTRAL, 'policy-gate-x');
    const refused = iam.iamFor(MEMBER, 'policy-gate-x');
    // Assess
    await expect(refused).rejects.toThrow(/AccessDenied/);
    expect(sts.sessions()).toHaveLength(0);
    await expect(iam.iamFor('12345', 'policy-gate-x')).rejects.toThrow(AwsOperationError);
  });
});
