import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  MessageNotInflight,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  SQSServiceException,
  TooManyEntriesInBatchRequest,
} from '@aws-sdk/client-sqs';
import {
  eventBridgeDeadLetterAttributes,
  type LocalSqsServer,
  md5OfMessageAttributes,
  startSqsServer,
} from '../../local/sqs';
import { withEnv } from '../support/env';

const ACCOUNT = '123456789012';
const CREDENTIALS = { accessKeyId: 'AKIDSQSEXAMPLE', secretAccessKey: 'x' };

/** The SQS error a call fails with; fails the test if it succeeds or throws something else. */
async function failure(call: Promise<unknown>): Promise<SQSServiceException> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof SQSServiceException)) throw new Error(`expected an SQS error, got ${String(error)}`);
  return error;
}

describe('local SQS stand-in through @aws-sdk/client-sqs', () => {
  let server: LocalSqsServer;
  let client: SQSClient;
  let clock = Date.now();
  let work: string;
  let dlq: string;

  beforeAll(async () => {
    server = await startSqsServer({
      accountId: ACCOUNT,
      queues: ['work', { name: 'policy-gate-dlq', visibilityTimeout: 5 }, { name: 'slow', delaySeconds: 60 }],
      maxLongPollMs: 300,
      now: () => clock,
    });
    client = new SQSClient({
      region: 'us-east-1',
      endpoint: server.endpoint,
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    work = server.queueUrl('work');
    dlq = server.queueUrl('policy-gate-dlq');
  });

  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  beforeEach(() => {
    server.reset();
    clock = Date.now();
  });

  it('names queues the way SQS does', () => {
    // Assess
    expect(work).toBe(`${server.endpoint}/${ACCOUNT}/work`);
    expect(server.queueArn('work')).toBe(`arn:aws:sqs:us-east-1:${ACCOUNT}:work`);
    expect(() => server.queueUrl('nope')).toThrow("no queue named 'nope'");
  });

  it('sends with attributes and receives the message with SQS checksums the SDK accepts', async () => {
    // Prepare
    const body = 'déjà vu: {"detail":"x"} 🚀';

    // Act
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: work,
        MessageBody: body,
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'alert' },
          attempt: { DataType: 'Number', StringValue: '3' },
          blob: { DataType: 'Binary.gzip', BinaryValue: new Uint8Array([1, 2, 3]) },
        },
      }),
    );
    const received = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: work,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      }),
    );

    // Assess
    expect(sent.MD5OfMessageBody).toBe(createHash('md5').update(body, 'utf8').digest('hex'));
    // A reference value computed by hand from SQS's documented algorithm for one String attribute.
    expect(md5OfMessageAttributes({ a: { dataType: 'String', stringValue: 'b' } })).toBe(
      createHash('md5')
        .update(Buffer.from([0, 0, 0, 1, 0x61, 0, 0, 0, 6, ...Buffer.from('String'), 1, 0, 0, 0, 1, 0x62]))
        .digest('hex'),
    );
    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(received.Messages).toHaveLength(1);
    const [message] = received.Messages ?? [];
    expect(message).toMatchObject({
      MessageId: sent.MessageId,
      Body: body,
      MD5OfBody: sent.MD5OfMessageBody,
      MD5OfMessageAttributes: sent.MD5OfMessageAttributes,
      Attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(clock) },
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'alert' },
        attempt: { DataType: 'Number', StringValue: '3' },
        blob: { DataType: 'Binary.gzip', BinaryValue: new Uint8Array([1, 2, 3]) },
      },
    });
    expect(message?.ReceiptHandle).toEqual(expect.any(String));
  });

  it('hides a received message for its visibility timeout, then redelivers it with a higher receive count', async () => {
    // Prepare
    await client.send(new SendMessageCommand({ QueueUrl: work, MessageBody: 'job' }));

    // Act
    const first = await client.send(
      new ReceiveMessageCommand({ QueueUrl: work, VisibilityTimeout: 10, AttributeNames: ['All'] }),
    );
    const whileHidden = await client.send(new ReceiveMessageCommand({ QueueUrl: work }));
    const attributesWhileHidden = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: work, AttributeNames: ['All'] }),
    );
    clock += 10_000;
    const again = await client.send(
      new ReceiveMessageCommand({ QueueUrl: work, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
    );

    // Assess
    expect(first.Messages?.[0]?.Attributes).toMatchObject({
      ApproximateReceiveCount: '1',
      SenderId: CREDENTIALS.accessKeyId,
      ApproximateFirstReceiveTimestamp: expect.any(String),
    });
    expect(whileHidden.Messages).toBeUndefined();
    expect(attributesWhileHidden.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '0',
      QueueArn: server.queueArn('work'),
      VisibilityTimeout: '30',
    });
    expect(again.Messages?.[0]?.Attributes).toEqual({ ApproximateReceiveCount: '2' });
    expect(again.Messages?.[0]?.ReceiptHandle).not.toBe(first.Messages?.[0]?.ReceiptHandle);
  });

  it('receives up to MaxNumberOfMessages in order and deletes them singly and in a batch', async () => {
    // Prepare
    for (const body of ['a', 'b', 'c'])
      await client.send(new SendMessageCommand({ QueueUrl: work, MessageBody: body }));

    // Act
    const received = await client.send(
      new ReceiveMessageCommand({ QueueUrl: work, MaxNumberOfMessages: 10 }),
    );
    const [a, b, c] = received.Messages ?? [];
    await client.send(new DeleteMessageCommand({ QueueUrl: work, ReceiptHandle: a?.ReceiptHandle }));
    // Deleting again with the same handle is accepted, as SQS does.
    await client.send(new DeleteMessageCommand({ QueueUrl: work, ReceiptHandle: a?.ReceiptHandle }));
    const batch = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: work,
        Entries: [
          { Id: 'b', ReceiptHandle: b?.ReceiptHandle },
          { Id: 'c', ReceiptHandle: c?.ReceiptHandle },
          { Id: 'bad', ReceiptHandle: 'not-a-handle' },
        ],
      }),
    );

    // Assess
    expect(received.Messages?.map((m) => m.Body)).toEqual(['a', 'b', 'c']);
    expect(batch.Successful).toEqual([{ Id: 'b' }, { Id: 'c' }]);
    expect(batch.Failed).toEqual([
      {
        Id: 'bad',
        SenderFault: true,
        Code: 'ReceiptHandleIsInvalid',
        Message: 'The input receipt handle "not-a-handle" is not a valid receipt handle.',
      },
    ]);
    expect(server.messages('work')).toEqual([]);
  });

  it('keeps a message deleted with an outdated receipt handle, as SQS warns it may', async () => {
    // Prepare
    await client.send(new SendMessageCommand({ QueueUrl: work, MessageBody: 'job' }));
    const first = await client.send(new ReceiveMessageCommand({ QueueUrl: work, VisibilityTimeout: 0 }));
    const second = await client.send(new ReceiveMessageCommand({ QueueUrl: work, VisibilityTimeout: 30 }));

    // Act
    await client.send(
      new DeleteMessageCommand({ QueueUrl: work, ReceiptHandle: first.Messages?.[0]?.ReceiptHandle }),
    );
    const afterStaleDelete = server.messages('work');
    await client.send(
      new DeleteMessageCommand({ QueueUrl: work, ReceiptHandle: second.Messages?.[0]?.ReceiptHandle }),
    );

    // Assess
    expect(afterStaleDelete).toEqual([
      expect.objectContaining({ body: 'job', receiveCount: 2, state: 'in-flight' }),
    ]);
    expect(server.messages('work')).toEqual([]);
  });

  it('changes visibility of an in-flight message and refuses it for one that is not', async () => {
    // Prepare
    await client.send(new SendMessageCommand({ QueueUrl: work, MessageBody: 'job' }));
    const received = await client.send(new ReceiveMessageCommand({ QueueUrl: work, VisibilityTimeout: 60 }));
    const handle = received.Messages?.[0]?.ReceiptHandle;

    // Act
    await client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: work, ReceiptHandle: handle, VisibilityTimeout: 0 }),
    );
    const visibleAgain = server.messages('work')[0]?.state;
    const notInFlight = await failure(
      client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: work, ReceiptHandle: handle, VisibilityTimeout: 5 }),
      ),
    );
    const malformed = await failure(
      client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: work, ReceiptHandle: 'xyz', VisibilityTimeout: 5 }),
      ),
    );

    // Assess
    expect(visibleAgain).toBe('visible');
    expect(notInFlight).toBeInstanceOf(MessageNotInflight);
    expect(malformed).toBeInstanceOf(ReceiptHandleIsInvalid);
    expect(malformed.message).toBe('The input receipt handle "xyz" is not a valid receipt handle.');
  });

  it('holds a delayed message back and counts it as delayed', async () => {
    // Prepare
    const slow = server.queueUrl('slow');

    // Act
    await client.send(new SendMessageCommand({ QueueUrl: work, MessageBody: 'later', DelaySeconds: 30 }));
    await client.send(new SendMessageCommand({ QueueUrl: slow, MessageBody: 'queue default delay' }));
    const early = await client.send(new ReceiveMessageCommand({ QueueUrl: work }));
    const counts = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: work,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    clock += 30_000;
    const onTime = await client.send(new ReceiveMessageCommand({ QueueUrl: work }));

    // Assess
    expect(early.Messages).toBeUndefined();
    expect(counts.Attributes).toEqual({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesDelayed: '1',
    });
    expect(onTime.Messages?.map((m) => m.Body)).toEqual(['later']);
    expect(server.messages('slow')[0]?.state).toBe('delayed');
  });

  it('long-polls: waits for a message that arrives during the wait, and gives up after a short real wait', async () => {
    // Act
    const waiting = client.send(new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 20 }));
    setTimeout(() => server.deliver('policy-gate-dlq', 'late'), 50);
    const delivered = await waiting;
    const started = Date.now();
    const empty = await client.send(new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 20 }));
    const waited = Date.now() - started;

    // Assess
    expect(delivered.Messages?.map((m) => m.Body)).toEqual(['late']);
    expect(empty.Messages).toBeUndefined();
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(2000);
  });

  it('delivers a dead-lettered EventBridge event with the attributes EventBridge adds', async () => {
    // Prepare
    const event = { 'detail-type': 'AWS API Call via CloudTrail', detail: { eventName: 'CreatePolicy' } };
    const attributes = eventBridgeDeadLetterAttributes({
      ruleArn: `arn:aws:events:us-east-1:${ACCOUNT}:rule/policy-gate`,
      targetArn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:policy-gate`,
      errorCode: 'NO_PERMISSIONS',
      errorMessage: 'Not authorized to start the execution',
      exhaustedRetryCondition: 'MaximumRetryAttempts',
      retryAttempts: 0,
    });

    // Act
    const messageId = server.deliver('policy-gate-dlq', event, attributes);
    const received = await client.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MessageAttributeNames: ['All'], AttributeNames: ['All'] }),
    );

    // Assess
    const [message] = received.Messages ?? [];
    expect(message?.MessageId).toBe(messageId);
    expect(JSON.parse(message?.Body ?? '')).toEqual(event);
    expect(message?.MessageAttributes).toEqual({
      RULE_ARN: { DataType: 'String', StringValue: `arn:aws:events:us-east-1:${ACCOUNT}:rule/policy-gate` },
      TARGET_ARN: {
        DataType: 'String',
        StringValue: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:policy-gate`,
      },
      ERROR_CODE: { DataType: 'String', StringValue: 'NO_PERMISSIONS' },
      ERROR_MESSAGE: { DataType: 'String', StringValue: 'Not authorized to start the execution' },
      EXHAUSTED_RETRY_CONDITION: { DataType: 'String', StringValue: 'MaximumRetryAttempts' },
      RETRY_ATTEMPTS: { DataType: 'String', StringValue: '0' },
    });
    expect(message?.MD5OfMessageAttributes).toBe(
      md5OfMessageAttributes(server.messages('policy-gate-dlq')[0]?.attributes ?? {}),
    );
    expect(server.messages('policy-gate-dlq')).toEqual([
      expect.objectContaining({ messageId, receiveCount: 1, state: 'in-flight' }),
    ]);
  });

  it('selects message attributes by name and prefix', async () => {
    // Prepare
    await client.send(
      new SendMessageCommand({
        QueueUrl: work,
        MessageBody: 'x',
        MessageAttributes: {
          'app.kind': { DataType: 'String', StringValue: 'k' },
          'app.size': { DataType: 'Number', StringValue: '1' },
          other: { DataType: 'String', StringValue: 'o' },
        },
      }),
    );

    // Act
    const received = await client.send(
      new ReceiveMessageCommand({ QueueUrl: work, MessageAttributeNames: ['app.*'] }),
    );

    // Assess
    const [message] = received.Messages ?? [];
    expect(Object.keys(message?.MessageAttributes ?? {}).sort()).toEqual(['app.kind', 'app.size']);
    expect(message?.MD5OfMessageAttributes).toBe(
      md5OfMessageAttributes({
        'app.kind': { dataType: 'String', stringValue: 'k' },
        'app.size': { dataType: 'Number', stringValue: '1' },
      }),
    );
  });

  it('resolves a queue URL by name and refuses an unknown queue with QueueDoesNotExist', async () => {
    // Act
    const found = await client.send(new GetQueueUrlCommand({ QueueName: 'work' }));
    const byName = await failure(client.send(new GetQueueUrlCommand({ QueueName: 'missing' })));
    const byUrl = await failure(
      client.send(
        new SendMessageCommand({ QueueUrl: `${server.endpoint}/${ACCOUNT}/missing`, MessageBody: 'x' }),
      ),
    );
    const otherAccount = await failure(
      client.send(new ReceiveMessageCommand({ QueueUrl: `${server.endpoint}/999999999999/work` })),
    );

    // Assess
    expect(found.QueueUrl).toBe(work);
    for (const error of [byName, byUrl, otherAccount]) {
      expect(error).toBeInstanceOf(QueueDoesNotExist);
      expect(error.message).toBe('The specified queue does not exist.');
      expect(error.$metadata.httpStatusCode).toBe(400);
      // The query-compatible code, which code written against the Query protocol compares.
      expect((error as { Code?: string }).Code).toBe('AWS.SimpleQueueService.NonExistentQueue');
    }
  });

  it.each([
    {
      label: 'MaxNumberOfMessages above 10',
      act: () => client.send(new ReceiveMessageCommand({ QueueUrl: work, MaxNumberOfMessages: 11 })),
      name: 'InvalidParameterValue',
      message:
        'Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.',
    },
    {
      label: 'WaitTimeSeconds above 20',
      act: () => client.send(new ReceiveMessageCommand({ QueueUrl: work, WaitTimeSeconds: 21 })),
      name: 'InvalidParameterValue',
      message:
        'Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.',
    },
    {
      label: 'DelaySeconds above 900',
      act: () => client.send(new SendMessageCommand({ QueueUrl: work, MessageBody: 'x', DelaySeconds: 901 })),
      name: 'InvalidParameterValue',
      message:
        'Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.',
    },
    {
      label: 'an empty body',
      act: () => client.send(new SendMessageCommand({ QueueUrl: work, MessageBody: '' })),
      name: 'MissingParameter',
      message: 'The request must contain the parameter MessageBody.',
    },
    {
      label: 'a body over 256 KiB',
      act: () => client.send(new SendMessageCommand({ QueueUrl: work, MessageBody: 'x'.repeat(262145) })),
      name: 'InvalidParameterValue',
      message: 'One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.',
    },
    {
      label: 'a control character in the body',
      act: () => client.send(new SendMessageCommand({ QueueUrl: work, MessageBody: 'bell\u0007' })),
      name: 'InvalidMessageContents',
      message:
        "Invalid binary character '#x7' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
    },
    {
      label: 'an attribute without a value',
      act: () =>
        client.send(
          new SendMessageCommand({
            QueueUrl: work,
            MessageBody: 'x',
            MessageAttributes: { a: { DataType: 'String' } },
          }),
        ),
      name: 'InvalidParameterValue',
      message:
        "The message attribute 'a' must contain a non-empty message attribute value for message attribute type 'String'.",
    },
    {
      label: 'an unknown queue attribute',
      act: () =>
        client.send(new GetQueueAttributesCommand({ QueueUrl: work, AttributeNames: ['Colour' as never] })),
      name: 'InvalidAttributeName',
      message: 'Unknown Attribute Colour.',
    },
  ])('refuses $label', async ({ act, name, message }) => {
    // Act
    const error = await failure(act());

    // Assess
    expect(error.name).toBe(name);
    expect(error.message).toBe(message);
    expect(error.$fault).toBe('client');
    expect(server.messages('work')).toEqual([]);
  });

  it('refuses batches that are empty or too long', async () => {
    // Act
    const empty = await failure(client.send(new DeleteMessageBatchCommand({ QueueUrl: work, Entries: [] })));
    const tooMany = await failure(
      client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: work,
          Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, ReceiptHandle: 'h' })),
        }),
      ),
    );

    // Assess
    expect(empty.name).toBe('EmptyBatchRequest');
    expect(tooMany).toBeInstanceOf(TooManyEntriesInBatchRequest);
    expect(tooMany.message).toBe('Maximum number of entries per request are 10. You have sent 11.');
  });

  it('injects faults the SDK sees as server errors or throttling', async () => {
    // Prepare
    server.failNext(1);
    server.failNext(1, 'RequestThrottled');

    // Act
    const internal = await failure(client.send(new GetQueueUrlCommand({ QueueName: 'work' })));
    const throttled = await failure(client.send(new GetQueueUrlCommand({ QueueName: 'work' })));
    const fine = await client.send(new GetQueueUrlCommand({ QueueName: 'work' }));

    // Assess
    expect(internal.$fault).toBe('server');
    expect(internal.$metadata.httpStatusCode).toBe(500);
    expect(throttled.name).toBe('RequestThrottled');
    expect(fine.QueueUrl).toBe(work);
  });

  it('is reachable through AWS_ENDPOINT_URL_SQS alone and answers unsigned requests with 403', async () => {
    // Act
    const url = await withEnv(
      {
        AWS_ENDPOINT_URL_SQS: server.endpoint,
        AWS_ENDPOINT_URL: undefined,
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
      },
      async () => {
        const envClient = new SQSClient({ region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
        try {
          return (await envClient.send(new GetQueueUrlCommand({ QueueName: 'work' }))).QueueUrl;
        } finally {
          envClient.destroy();
        }
      },
    );
    const unsigned = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.GetQueueUrl' },
      body: '{"QueueName":"work"}',
    });

    // Assess
    expect(url).toBe(work);
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-query-error')).toBe('MissingAuthenticationToken;Sender');
  });
});
