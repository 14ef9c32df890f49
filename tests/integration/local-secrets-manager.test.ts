import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import {
  type LocalSecretsManagerServer,
  startSecretsManagerServer,
} from '../../local/secrets-manager/server';
import { withEnv } from '../support/env';

const SLACK_SECRET = 'policy-gate/slack';
const SLACK_VALUE = JSON.stringify({ botToken: 'xoxb-local-test', signingSecret: 'local-signing-secret' });
const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };

function smClient(
  server: LocalSecretsManagerServer,
  extra: Partial<SecretsManagerClientConfig> = {},
): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    maxAttempts: 1,
    ...extra,
  });
}

describe('local Secrets Manager stand-in through @aws-sdk/client-secrets-manager', () => {
  let server: LocalSecretsManagerServer;
  let client: SecretsManagerClient;

  beforeEach(async () => {
    server = await startSecretsManagerServer({ secrets: { [SLACK_SECRET]: SLACK_VALUE } });
    client = smClient(server);
  });

  afterEach(async () => {
    client.destroy();
    await server.close();
  });

  it('PutSecretValue rotates an existing secret: the new value is AWSCURRENT, the old one AWSPREVIOUS', async () => {
    // Act
    const put = await client.send(
      new PutSecretValueCommand({ SecretId: SLACK_SECRET, SecretString: 'rotated' }),
    );
    const current = await client.send(new GetSecretValueCommand({ SecretId: server.arnOf(SLACK_SECRET) }));
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: SLACK_SECRET, VersionStage: 'AWSPREVIOUS' }),
    );
    const unknown = client.send(
      new PutSecretValueCommand({ SecretId: 'policy-gate/nope', SecretString: 'x' }),
    );
    // Assess
    expect(put).toMatchObject({ Name: SLACK_SECRET, VersionStages: ['AWSCURRENT'] });
    expect(current).toMatchObject({ SecretString: 'rotated', VersionId: put.VersionId });
    expect(previous.SecretString).toBe(SLACK_VALUE);
    await expect(unknown).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('listens on loopback only', () => {
    // Assess
    expect(new URL(server.endpoint).hostname).toBe('127.0.0.1');
  });

  it('returns a secret fetched by name with all its fields', async () => {
    // Prepare
    const before = Date.now();

    // Act
    const output = await client.send(new GetSecretValueCommand({ SecretId: SLACK_SECRET }));

    // Assess
    expect(output.Name).toBe(SLACK_SECRET);
    expect(output.SecretString).toBe(SLACK_VALUE);
    expect(output.ARN).toBe(server.arnOf(SLACK_SECRET));
    expect(output.ARN).toMatch(
      /^arn:aws:secretsmanager:us-east-1:123456789012:secret:policy-gate\/slack-[A-Za-z0-9]{6}$/,
    );
    expect(output.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(output.VersionStages).toEqual(['AWSCURRENT']);
    expect(output.CreatedDate).toBeInstanceOf(Date);
    // Created at server start, which was just before this test; seconds resolution on the wire.
    expect(Math.abs((output.CreatedDate as Date).getTime() - before)).toBeLessThan(5000);
  });

  it.each([
    ['full ARN', (s: LocalSecretsManagerServer) => s.arnOf(SLACK_SECRET)],
    ['partial ARN (no random suffix)', (s: LocalSecretsManagerServer) => s.arnOf(SLACK_SECRET).slice(0, -7)],
  ])('returns the same secret fetched by %s', async (_case, idOf) => {
    // Act
    const output = await client.send(new GetSecretValueCommand({ SecretId: idOf(server) }));

    // Assess
    expect(output.Name).toBe(SLACK_SECRET);
    expect(output.SecretString).toBe(SLACK_VALUE);
  });

  it('answers an unknown secret with ResourceNotFoundException and the real message', async () => {
    // Act
    const error = await client
      .send(new GetSecretValueCommand({ SecretId: 'policy-gate/missing' }))
      .catch((err: unknown) => err);

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error).toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('does not treat an ARN with the wrong suffix as the secret', async () => {
    // Prepare
    const wrongSuffix = `${server.arnOf(SLACK_SECRET).slice(0, -6)}zzzzzz`;

    // Act
    const error = await client
      .send(new GetSecretValueCommand({ SecretId: wrongSuffix }))
      .catch((err: unknown) => err);

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });

  it('counts calls per secret whether asked by name or by ARN', async () => {
    // Act
    await client.send(new GetSecretValueCommand({ SecretId: SLACK_SECRET }));
    await client.send(new GetSecretValueCommand({ SecretId: server.arnOf(SLACK_SECRET) }));
    await client.send(new GetSecretValueCommand({ SecretId: 'other' })).catch(() => undefined);

    // Assess
    expect(server.callCount(SLACK_SECRET)).toBe(2);
    expect(server.callCount(server.arnOf(SLACK_SECRET))).toBe(2);
    expect(server.callCount('other')).toBe(1);
    expect(server.totalCalls()).toBe(3);
  });

  it('rotates with putSecret: AWSCURRENT is the new value, AWSPREVIOUS the old one', async () => {
    // Prepare
    const rotated = server.putSecret(SLACK_SECRET, 'rotated-value');

    // Act
    const current = await client.send(new GetSecretValueCommand({ SecretId: SLACK_SECRET }));
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: SLACK_SECRET, VersionStage: 'AWSPREVIOUS' }),
    );
    const pending = await client
      .send(new GetSecretValueCommand({ SecretId: SLACK_SECRET, VersionStage: 'AWSPENDING' }))
      .catch((err: unknown) => err);

    // Assess
    expect(rotated.arn).toBe(server.arnOf(SLACK_SECRET));
    expect(current).toMatchObject({ SecretString: 'rotated-value', VersionId: rotated.versionId });
    expect(current.VersionStages).toEqual(['AWSCURRENT']);
    expect(previous.SecretString).toBe(SLACK_VALUE);
    expect(previous.VersionStages).toEqual(['AWSPREVIOUS']);
    expect(pending).toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
    });
  });

  it('fails the next request with InternalServiceError, then recovers', async () => {
    // Prepare
    server.failNext(1);

    // Act
    const error = await client
      .send(new GetSecretValueCommand({ SecretId: SLACK_SECRET }))
      .catch((err: unknown) => err);
    const ok = await client.send(new GetSecretValueCommand({ SecretId: SLACK_SECRET }));

    // Assess
    expect(error).toMatchObject({
      name: 'InternalServiceError',
      $fault: 'server',
      $metadata: { httpStatusCode: 500 },
    });
    expect(ok.SecretString).toBe(SLACK_VALUE);
  });

  it('refuses an unsigned request with MissingAuthenticationTokenException', async () => {
    // Act
    const response = await fetch(server.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'secretsmanager.GetSecretValue',
      },
      body: JSON.stringify({ SecretId: SLACK_SECRET }),
    });
    const body = (await response.json()) as { __type?: string; SecretString?: string };

    // Assess
    expect(response.status).toBe(400);
    expect(body.__type).toBe('MissingAuthenticationTokenException');
    expect(body.SecretString).toBeUndefined();
    expect(server.totalCalls()).toBe(0);
  });

  it('is reached by a client configured only through AWS_ENDPOINT_URL_SECRETS_MANAGER', async () => {
    // Prepare / Act
    const output = await withEnv(
      { AWS_ENDPOINT_URL_SECRETS_MANAGER: server.endpoint, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined },
      async () => {
        const fromEnv = new SecretsManagerClient({
          region: 'us-east-1',
          credentials: CREDENTIALS,
          maxAttempts: 1,
        });
        try {
          return await fromEnv.send(new GetSecretValueCommand({ SecretId: SLACK_SECRET }));
        } finally {
          fromEnv.destroy();
        }
      },
    );

    // Assess
    expect(output.SecretString).toBe(SLACK_VALUE);
    expect(server.callCount(SLACK_SECRET)).toBe(1);
  });
});
