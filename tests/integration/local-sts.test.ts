/**
 * The STS stand-in through the real SDK client (Query protocol): AssumeRole with session names and source
 * identities, AWS's rule that a chain cannot change its source identity, and the CloudTrail records it writes.
 */
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Identity } from '../../local/iam';
import { type LocalStsServer, startStsServer } from '../../local/sts';

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/ops-admin`;
const NEXT_ROLE = `arn:aws:iam::${ACCOUNT}:role/break-glass`;
const ALICE: Identity = { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, userName: 'alice' };

describe('local STS stand-in', () => {
  let sts: LocalStsServer;
  const events: Record<string, unknown>[] = [];
  const sessions: [string, Identity][] = [];
  const clients: STSClient[] = [];
  const client = (accessKeyId = 'AKIAALICE', sessionToken?: string) => {
    const c = new STSClient({
      region: 'us-east-1',
      endpoint: sts.endpoint,
      credentials: { accessKeyId, secretAccessKey: 'x', ...(sessionToken && { sessionToken }) },
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    sts = await startStsServer({
      accountId: ACCOUNT,
      callers: { AKIAALICE: ALICE },
      onEvent: (event) => events.push(event),
      onSession: (key, identity) => sessions.push([key, identity]),
    });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await sts.close();
  });

  test('AssumeRole issues ASIA credentials and records the call with the issued key and its caller', async () => {
    // Prepare
    const before = events.length;
    // Act
    const out = await client().send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'ana@example.com', SourceIdentity: 'alice' }),
    );
    // Assess
    const key = out.Credentials?.AccessKeyId as string;
    expect(key).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(out.SourceIdentity).toBe('alice');
    expect(out.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/ops-admin/ana@example.com`);
    const [event] = events.slice(before);
    expect(event).toMatchObject({
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      userIdentity: { type: 'IAMUser', userName: 'alice', accessKeyId: 'AKIAALICE' },
      requestParameters: { roleArn: ROLE, roleSessionName: 'ana@example.com', sourceIdentity: 'alice' },
      responseElements: {
        credentials: { accessKeyId: key },
        assumedRoleUser: { arn: out.AssumedRoleUser?.Arn },
        sourceIdentity: 'alice',
      },
      resources: [{ type: 'AWS::IAM::Role', ARN: ROLE }],
    });
    expect(JSON.stringify(event)).not.toContain(out.Credentials?.SecretAccessKey);
    expect(sessions.at(-1)).toEqual([
      key,
      expect.objectContaining({
        type: 'AssumedRole',
        accessKeyId: key,
        sessionContext: expect.objectContaining({
          sessionIssuer: expect.objectContaining({ type: 'Role', arn: ROLE, userName: 'ops-admin' }),
          sourceIdentity: 'alice',
        }),
      }),
    ]);
  });

  test('a chained session keeps its source identity and cannot change it', async () => {
    // Prepare
    const first = await client().send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'first', SourceIdentity: 'alice' }),
    );
    const as = client(first.Credentials?.AccessKeyId, first.Credentials?.SessionToken);
    // Act
    const changed = as.send(
      new AssumeRoleCommand({ RoleArn: NEXT_ROLE, RoleSessionName: 'second', SourceIdentity: 'sam' }),
    );
    await expect(changed).rejects.toMatchObject({ name: 'AccessDenied' });
    const refused = events.at(-1);
    const kept = await as.send(new AssumeRoleCommand({ RoleArn: NEXT_ROLE, RoleSessionName: 'second' }));
    const same = await as.send(
      new AssumeRoleCommand({ RoleArn: NEXT_ROLE, RoleSessionName: 'third', SourceIdentity: 'alice' }),
    );
    // Assess
    expect(refused).toMatchObject({ errorCode: 'AccessDenied', responseElements: null });
    expect(kept.SourceIdentity).toBe('alice');
    expect(same.SourceIdentity).toBe('alice');
    expect(events.at(-2)).toMatchObject({
      userIdentity: {
        type: 'AssumedRole',
        accessKeyId: first.Credentials?.AccessKeyId,
        sessionContext: { sourceIdentity: 'alice' },
      },
    });
  });

  test('a chained session is capped at one hour', async () => {
    // Prepare
    const first = await client().send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'first' }));
    const as = client(first.Credentials?.AccessKeyId, first.Credentials?.SessionToken);
    // Act / Assess
    await expect(
      as.send(new AssumeRoleCommand({ RoleArn: NEXT_ROLE, RoleSessionName: 'long', DurationSeconds: 7200 })),
    ).rejects.toMatchObject({ name: 'ValidationError' });
  });

  test.each([
    ['a session name with a space', { RoleArn: ROLE, RoleSessionName: 'has space' }],
    ['a one-character session name', { RoleArn: ROLE, RoleSessionName: 'x' }],
    [
      'a source identity starting with aws:',
      { RoleArn: ROLE, RoleSessionName: 'ok', SourceIdentity: 'aws:x' },
    ],
    ['a role ARN that is a user', { RoleArn: `arn:aws:iam::${ACCOUNT}:user/alice`, RoleSessionName: 'ok' }],
  ])('refuses %s', async (_label, input) => {
    await expect(client().send(new AssumeRoleCommand(input))).rejects.toMatchObject({
      name: 'ValidationError',
    });
  });

  test('an unknown access key is refused; a known one is who GetCallerIdentity says', async () => {
    await expect(
      client('AKIAUNKNOWN').send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'x1' })),
    ).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
    const me = await client().send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(ALICE.arn);
  });
});
