import {
  CreateTopicCommand,
  NotFoundException,
  PublishCommand,
  type PublishCommandInput,
  SNSClient,
  type SNSClientConfig,
} from '@aws-sdk/client-sns';
// Transitive dependency of every SDK v3 client; used only to drive the stand-in's JSON protocol path.
import { AwsJson1_0Protocol } from '@aws-sdk/core/protocols';
import { type LocalSnsServer, MAX_MESSAGE_BYTES, startSnsServer } from '../../local/sns/server';
import { withEnv } from '../support/env';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:policy-gate-notifications';
const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };

function snsClient(server: LocalSnsServer, extra: Partial<SNSClientConfig> = {}): SNSClient {
  return new SNSClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    ...extra,
  });
}

describe('local SNS stand-in through @aws-sdk/client-sns', () => {
  let server: LocalSnsServer;
  let client: SNSClient;

  beforeAll(async () => {
    server = await startSnsServer({ topics: [TOPIC] });
    client = snsClient(server, { maxAttempts: 1 });
  });

  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  beforeEach(() => server.clearMessages());

  it('listens on loopback only', () => {
    // Assess
    expect(new URL(server.endpoint).hostname).toBe('127.0.0.1');
  });

  it('records a publish with its subject, attributes and message id', async () => {
    // Prepare
    const input: PublishCommandInput = {
      TopicArn: TOPIC,
      Subject: 'PolicyGate: change quarantined',
      Message: 'Policy <arn:aws:iam::123456789012:policy/x> & friends',
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: 'high' },
        riskScore: { DataType: 'Number', StringValue: '42' },
        digest: { DataType: 'Binary', BinaryValue: Uint8Array.from([0, 1, 254, 255]) },
      },
    };

    // Act
    const output = await client.send(new PublishCommand(input));

    // Assess
    expect(server.messages).toHaveLength(1);
    const recorded = server.messages[0];
    expect(recorded?.messageId).toBe(output.MessageId);
    expect(recorded).toMatchObject({
      topicArn: TOPIC,
      subject: 'PolicyGate: change quarantined',
      message: 'Policy <arn:aws:iam::123456789012:policy/x> & friends',
      protocol: 'query',
    });
    expect(recorded?.messageAttributes.severity).toEqual({ dataType: 'String', stringValue: 'high' });
    expect(recorded?.messageAttributes.riskScore).toEqual({ dataType: 'Number', stringValue: '42' });
    expect(recorded?.messageAttributes.digest?.binaryValue).toEqual(Buffer.from([0, 1, 254, 255]));
  });

  it('gives each publish its own message id', async () => {
    // Act
    const first = await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'one' }));
    const second = await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'two' }));

    // Assess
    expect(first.MessageId).toBeTruthy();
    expect(first.MessageId).not.toBe(second.MessageId);
    expect(server.messages.map((m) => m.message)).toEqual(['one', 'two']);
  });

  it('answers an unknown topic with NotFound, as SNS does, and records nothing', async () => {
    // Act
    const error = await client
      .send(
        new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:no-such-topic', Message: 'x' }),
      )
      .catch((err: unknown) => err);

    // Assess
    expect(error).toBeInstanceOf(NotFoundException);
    expect(error).toMatchObject({
      name: 'NotFoundException',
      message: 'Topic does not exist',
      Code: 'NotFound',
      $metadata: { httpStatusCode: 404 },
    });
    expect(server.messages).toHaveLength(0);
  });

  it.each<[string, Partial<PublishCommandInput>, string]>([
    ['a subject over 100 characters', { Subject: 'a'.repeat(101) }, 'Invalid parameter: Subject'],
    ['a subject with a line break', { Subject: 'two\nlines' }, 'Invalid parameter: Subject'],
    [
      'a message over 256 KiB',
      { Message: 'm'.repeat(MAX_MESSAGE_BYTES + 1) },
      'Invalid parameter: Message too long',
    ],
    [
      'a message whose attributes push it over 256 KiB',
      {
        Message: 'm'.repeat(MAX_MESSAGE_BYTES - 4),
        MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } },
      },
      'Invalid parameter: Message too long',
    ],
    ['an empty message', { Message: '' }, 'Invalid parameter: Empty message'],
    ['a malformed topic ARN', { TopicArn: 'policy-gate-notifications' }, 'Invalid parameter: TopicArn'],
    [
      'a json structure without a default entry',
      { MessageStructure: 'json', Message: '{"email":"x"}' },
      'Invalid parameter: Message Structure - No default entry in JSON message body',
    ],
  ])('rejects %s with InvalidParameter', async (_case, override, message) => {
    // Prepare
    const input: PublishCommandInput = { TopicArn: TOPIC, Message: 'body', ...override };

    // Act
    const error = await client.send(new PublishCommand(input)).catch((err: unknown) => err);

    // Assess
    expect(error).toMatchObject({
      name: 'InvalidParameterException',
      Code: 'InvalidParameter',
      message,
      $metadata: { httpStatusCode: 400 },
    });
    expect(server.messages).toHaveLength(0);
  });

  it('accepts a 100-character subject and a message of exactly 256 KiB', async () => {
    // Act
    await client.send(new PublishCommand({ TopicArn: TOPIC, Subject: 's'.repeat(100), Message: 'short' }));
    await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'm'.repeat(MAX_MESSAGE_BYTES) }));

    // Assess
    expect(server.messages.map((m) => m.message.length)).toEqual([5, MAX_MESSAGE_BYTES]);
  });

  it('rejects an attribute without a value as SNS does', async () => {
    // Act
    const error = await client
      .send(
        new PublishCommand({
          TopicArn: TOPIC,
          Message: 'x',
          MessageAttributes: { severity: { DataType: 'String' } },
        }),
      )
      .catch((err: unknown) => err);

    // Assess
    expect(error).toMatchObject({ name: 'InvalidParameterValueException', Code: 'ParameterValueInvalid' });
    expect(server.messages).toHaveLength(0);
  });

  it('creates topics through CreateTopic and through the createTopic helper', async () => {
    // Act
    const created = await client.send(new CreateTopicCommand({ Name: 'made-by-sdk' }));
    const helperArn = server.createTopic('made-by-helper');
    await client.send(new PublishCommand({ TopicArn: created.TopicArn, Message: 'to sdk topic' }));
    await client.send(new PublishCommand({ TopicArn: helperArn, Message: 'to helper topic' }));

    // Assess
    expect(created.TopicArn).toBe('arn:aws:sns:us-east-1:123456789012:made-by-sdk');
    expect(server.topics.has(helperArn)).toBe(true);
    expect(server.messages.map((m) => [m.topicArn, m.message])).toEqual([
      [created.TopicArn, 'to sdk topic'],
      [helperArn, 'to helper topic'],
    ]);
  });

  it('refuses to start with a topic that is not an ARN', async () => {
    // Act / Assess
    await expect(startSnsServer({ topics: ['not-an-arn'] })).rejects.toThrow('not an SNS topic ARN');
  });

  it('fails the next N requests with InternalError, then recovers', async () => {
    // Prepare
    server.failNext(2);

    // Act
    const errors = [
      await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'a' })).catch((err: unknown) => err),
      await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'b' })).catch((err: unknown) => err),
    ];
    const ok = await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'c' }));

    // Assess
    for (const error of errors) {
      expect(error).toMatchObject({
        name: 'InternalErrorException',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
    }
    expect(ok.MessageId).toBeTruthy();
    expect(server.messages.map((m) => m.message)).toEqual(['c']);
  });

  it('lets the SDK retry an injected failure when retries are on', async () => {
    // Prepare
    const retrying = snsClient(server, { maxAttempts: 3 });
    server.failNext(1);

    // Act
    const output = await retrying.send(new PublishCommand({ TopicArn: TOPIC, Message: 'retried' }));
    retrying.destroy();

    // Assess
    expect(output.$metadata.attempts).toBe(2);
    expect(server.messages.map((m) => m.message)).toEqual(['retried']);
  });

  it('refuses an unsigned request with MissingAuthenticationToken', async () => {
    // Act
    const response = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Action: 'Publish', Version: '2010-03-31', TopicArn: TOPIC, Message: 'x' }),
    });
    const text = await response.text();

    // Assess
    expect(response.status).toBe(403);
    expect(text).toContain('<Code>MissingAuthenticationToken</Code>');
    expect(server.messages).toHaveLength(0);
  });

  it('is reached by a client configured only through AWS_ENDPOINT_URL_SNS', async () => {
    // Prepare / Act
    const output = await withEnv(
      { AWS_ENDPOINT_URL_SNS: server.endpoint, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined },
      async () => {
        const fromEnv = new SNSClient({ region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
        try {
          return await fromEnv.send(new PublishCommand({ TopicArn: TOPIC, Message: 'via env' }));
        } finally {
          fromEnv.destroy();
        }
      },
    );

    // Assess
    expect(server.messages.map((m) => [m.messageId, m.message])).toEqual([[output.MessageId, 'via env']]);
  });

  describe('JSON 1.0 protocol', () => {
    // The installed client speaks Query; swapping its protocol checks the JSON path a later SDK would use.
    let jsonClient: SNSClient;

    beforeAll(() => {
      const config = {
        endpoint: server.endpoint,
        region: 'us-east-1',
        credentials: CREDENTIALS,
        maxAttempts: 1,
        protocol: AwsJson1_0Protocol,
        protocolSettings: {
          defaultNamespace: 'com.amazonaws.sns',
          serviceTarget: 'AmazonSimpleNotificationService',
          awsQueryCompatible: true,
        },
      };
      jsonClient = new SNSClient(config);
    });

    afterAll(() => jsonClient.destroy());

    it('records a JSON publish with its attributes', async () => {
      // Act
      const output = await jsonClient.send(
        new PublishCommand({
          TopicArn: TOPIC,
          Subject: 'json subject',
          Message: 'json body',
          MessageAttributes: { digest: { DataType: 'Binary', BinaryValue: Uint8Array.from([9, 8, 7]) } },
        }),
      );

      // Assess
      expect(server.messages).toHaveLength(1);
      expect(server.messages[0]).toMatchObject({
        messageId: output.MessageId,
        subject: 'json subject',
        message: 'json body',
        protocol: 'json',
      });
      expect(server.messages[0]?.messageAttributes.digest?.binaryValue).toEqual(Buffer.from([9, 8, 7]));
    });

    it('answers an unknown topic with NotFound in query-compatible JSON', async () => {
      // Act
      const error = await jsonClient
        .send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:missing', Message: 'x' }))
        .catch((err: unknown) => err);

      // Assess
      expect(error).toBeInstanceOf(NotFoundException);
      expect(error).toMatchObject({ Code: 'NotFound', message: 'Topic does not exist' });
    });
  });
});
