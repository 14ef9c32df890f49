import {
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreatePolicyVersionCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  IAMServiceException,
  LimitExceededException,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListPolicyVersionsCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  ServiceFailureException,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsIamGateway, mapIamError } from '../../src/adapters/iam-gateway';
import type { PrincipalType } from '../../src/domain/policy-change';
import { AwsOperationError, NotFoundError, TransientError } from '../../src/errors';

const POLICY_ARN = 'arn:aws:iam::123456789012:policy/app-policy';
const iamMock = mockClient(IAMClient);
const gateway = new AwsIamGateway(new IAMClient({ region: 'us-east-1' }));

/** An error shaped as the SDK raises it for an IAM error response. */
function serviceError(name: string, status: number, message = `${name} happened`): IAMServiceException {
  return new IAMServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-1' },
    message,
  });
}

/** An error shaped as the SDK raises it when no HTTP response arrived at all. */
function networkError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

/** The input of the n-th command the mock received, whatever its type. */
function inputOf(index: number): unknown {
  const command = iamMock.calls()[index]?.args[0] as { input?: unknown } | undefined;
  return command?.input;
}

beforeEach(() => {
  iamMock.reset();
});

describe('error mapping', () => {
  type Expected = typeof TransientError | typeof NotFoundError | typeof AwsOperationError;
  interface Row {
    label: string;
    error: () => unknown;
    expected: Expected;
    code?: string;
  }
  test.each<Row>([
    {
      label: 'Throttling (IAM, 400)',
      error: () => serviceError('Throttling', 400),
      expected: TransientError,
    },
    {
      label: 'ThrottlingException',
      error: () => serviceError('ThrottlingException', 400),
      expected: TransientError,
    },
    {
      label: 'RequestLimitExceeded',
      error: () => serviceError('RequestLimitExceeded', 400),
      expected: TransientError,
    },
    {
      label: 'TooManyRequestsException (429)',
      error: () => serviceError('TooManyRequestsException', 429),
      expected: TransientError,
    },
    {
      label: 'ServiceFailure (modelled, 500)',
      error: () =>
        new ServiceFailureException({ message: 'unknown failure', $metadata: { httpStatusCode: 500 } }),
      expected: TransientError,
    },
    { label: 'any 503', error: () => serviceError('ServiceUnavailable', 503), expected: TransientError },
    { label: 'an unknown 502', error: () => serviceError('BadGateway', 502), expected: TransientError },
    {
      label: 'connection refused (no HTTP status)',
      error: () =>
        networkError('connect ECONNREFUSED 127.0.0.1:1', {
          code: 'ECONNREFUSED',
          $metadata: { attempts: 1 },
        }),
      expected: TransientError,
    },
    {
      label: 'socket timeout (no $metadata at all)',
      error: () => networkError('Connection timed out after 1000 ms', { name: 'TimeoutError' }),
      expected: TransientError,
    },
    {
      label: 'NoSuchEntity',
      error: () =>
        new NoSuchEntityException({ message: 'Policy was not found.', $metadata: { httpStatusCode: 404 } }),
      expected: NotFoundError,
    },
    {
      label: 'AccessDenied',
      error: () => serviceError('AccessDenied', 403),
      expected: AwsOperationError,
      code: 'AccessDenied',
    },
    {
      label: 'LimitExceeded',
      error: () =>
        new LimitExceededException({ message: 'up to 5 versions', $metadata: { httpStatusCode: 409 } }),
      expected: AwsOperationError,
      code: 'LimitExceeded',
    },
    {
      label: 'MalformedPolicyDocument',
      error: () =>
        new MalformedPolicyDocumentException({
          message: 'Syntax errors in policy.',
          $metadata: { httpStatusCode: 400 },
        }),
      expected: AwsOperationError,
      code: 'MalformedPolicyDocument',
    },
    {
      label: 'Query API Code wins over the exception name',
      error: () => Object.assign(serviceError('SomethingException', 409), { Code: 'DeleteConflict' }),
      expected: AwsOperationError,
      code: 'DeleteConflict',
    },
  ])('$label → $expected.name', async ({ error: makeError, expected, code }) => {
    // Prepare
    const error = makeError() as Error;
    iamMock.on(GetPolicyCommand).rejects(error);

    // Act
    const failure = await gateway.getPolicy(POLICY_ARN).then(
      () => undefined,
      (e: unknown) => e,
    );

    // Assess
    expect(failure).toBeInstanceOf(expected);
    const mapped = failure as Error;
    expect(mapped.cause).toBe(error);
    expect(mapped.message).toContain('iam:GetPolicy');
    if (code !== undefined) expect((mapped as AwsOperationError).code).toBe(code);
    // A retryable failure must never be classified as a permanent one, and vice versa.
    expect(mapped instanceof TransientError).toBe(expected === TransientError);
  });

  test('cuts long AWS messages so an echoed policy document cannot reach the logs', () => {
    // Prepare
    const document = JSON.stringify({ Statement: [{ Sid: 'SECRET-TAIL-MARKER'.padStart(4000, 'x') }] });
    const error = serviceError('MalformedPolicyDocument', 400, `Invalid policy: ${document}`);

    // Act
    const mapped = mapIamError('iam:PutRolePolicy', error);

    // Assess
    expect(mapped).toBeInstanceOf(AwsOperationError);
    expect(mapped.message).not.toContain('SECRET-TAIL-MARKER');
    expect(mapped.message.length).toBeLessThan(300);
  });

  test('keeps an error PolicyGate already classified', () => {
    // Prepare
    const original = new AwsOperationError('iam:GetPolicy', 'IncompleteResponse', 'no Policy');

    // Act
    const mapped = mapIamError('iam:GetPolicy', original);

    // Assess
    expect(mapped).toBe(original);
  });

  test('an answer without the expected field is an AwsOperationError, not a retry', async () => {
    // Prepare
    iamMock.on(GetPolicyCommand).resolves({ Policy: { Arn: POLICY_ARN } });

    // Act
    const failure = await gateway.getPolicy(POLICY_ARN).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(AwsOperationError);
    expect((failure as AwsOperationError).code).toBe('IncompleteResponse');
  });

  test.each<[string, () => Promise<unknown>]>([
    ['getPolicyVersion', () => gateway.getPolicyVersion(POLICY_ARN, 'v1')],
    ['setDefaultPolicyVersion', () => gateway.setDefaultPolicyVersion(POLICY_ARN, 'v1')],
    ['deletePolicyVersion', () => gateway.deletePolicyVersion(POLICY_ARN, 'v1')],
    ['listPolicyVersions', () => gateway.listPolicyVersions(POLICY_ARN)],
    ['listAttachedPolicyArns', () => gateway.listAttachedPolicyArns('role', 'app')],
    ['detachPolicy', () => gateway.detachPolicy('user', 'alice', POLICY_ARN)],
  ])('%s maps NoSuchEntity to NotFoundError', async (_name, call) => {
    // Prepare
    iamMock
      .onAnyCommand()
      .rejects(new NoSuchEntityException({ message: 'gone', $metadata: { httpStatusCode: 404 } }));

    // Act
    const failure = await call().catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(NotFoundError);
  });
});

describe('documents', () => {
  const document = JSON.stringify(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Odd chars: 100% (sure)! it\'s * "quoted" & <tagged> + plus, ümlaut',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::bucket/a b/*',
        },
      ],
    },
    null,
    2,
  );
  // IAM encodes per RFC 3986, including the characters encodeURIComponent leaves alone.
  const encoded = encodeURIComponent(document).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

  test('getPolicyVersion URL-decodes the document and converts the date', async () => {
    // Prepare
    const createDate = new Date('2026-01-02T03:04:05Z');
    iamMock.on(GetPolicyVersionCommand, { PolicyArn: POLICY_ARN, VersionId: 'v3' }).resolves({
      PolicyVersion: { Document: encoded, VersionId: 'v3', IsDefaultVersion: true, CreateDate: createDate },
    });

    // Act
    const version = await gateway.getPolicyVersion(POLICY_ARN, 'v3');

    // Assess
    expect(version).toEqual({
      versionId: 'v3',
      document,
      isDefaultVersion: true,
      createDate: '2026-01-02T03:04:05.000Z',
    });
  });

  test('a document that is not valid URL encoding fails clearly without echoing it', async () => {
    // Prepare
    iamMock.on(GetPolicyVersionCommand).resolves({
      PolicyVersion: { Document: '%7B%22SECRET%22%E0%A4%A', VersionId: 'v1', IsDefaultVersion: true },
    });

    // Act
    const failure = await gateway.getPolicyVersion(POLICY_ARN, 'v1').catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(AwsOperationError);
    expect((failure as AwsOperationError).code).toBe('InvalidDocumentEncoding');
    expect((failure as Error).message).not.toContain('SECRET');
  });

  test.each<[PrincipalType, new (input: never) => unknown, string]>([
    ['role', GetRolePolicyCommand, 'RoleName'],
    ['user', GetUserPolicyCommand, 'UserName'],
    ['group', GetGroupPolicyCommand, 'GroupName'],
  ])(
    'getInlinePolicy for a %s uses its own command and decodes the document',
    async (type, command, nameField) => {
      // Prepare
      iamMock.onAnyCommand().resolves({ PolicyName: 'inline', PolicyDocument: encoded, [nameField]: 'p' });

      // Act
      const result = await gateway.getInlinePolicy(type, 'principal-1', 'inline');

      // Assess
      expect(result).toBe(document);
      expect(iamMock.calls()).toHaveLength(1);
      expect(iamMock.calls()[0]?.args[0]).toBeInstanceOf(command);
      expect(inputOf(0)).toEqual({ [nameField]: 'principal-1', PolicyName: 'inline' });
    },
  );

  test.each<PrincipalType>(['role', 'user', 'group'])(
    'getInlinePolicy for a missing %s policy is undefined',
    async (type) => {
      // Prepare
      iamMock
        .onAnyCommand()
        .rejects(new NoSuchEntityException({ message: 'nope', $metadata: { httpStatusCode: 404 } }));

      // Act
      const result = await gateway.getInlinePolicy(type, 'p', 'inline');

      // Assess
      expect(result).toBeUndefined();
    },
  );

  test('getInlinePolicy still fails on other errors', async () => {
    // Prepare
    iamMock.onAnyCommand().rejects(serviceError('AccessDenied', 403));

    // Act
    const failure = await gateway.getInlinePolicy('role', 'p', 'inline').catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(AwsOperationError);
  });
});

describe('writes go to the command of the principal type', () => {
  test.each<[PrincipalType, new (input: never) => unknown, string]>([
    ['role', PutRolePolicyCommand, 'RoleName'],
    ['user', PutUserPolicyCommand, 'UserName'],
    ['group', PutGroupPolicyCommand, 'GroupName'],
  ])('putInlinePolicy for a %s', async (type, command, nameField) => {
    // Prepare
    iamMock.onAnyCommand().resolves({});

    // Act
    await gateway.putInlinePolicy(type, 'p1', 'inline', '{"Version":"2012-10-17"}');

    // Assess
    expect(iamMock.calls()).toHaveLength(1);
    expect(iamMock.calls()[0]?.args[0]).toBeInstanceOf(command);
    expect(inputOf(0)).toEqual({
      [nameField]: 'p1',
      PolicyName: 'inline',
      PolicyDocument: '{"Version":"2012-10-17"}',
    });
  });

  test.each<[PrincipalType, 'attachPolicy' | 'detachPolicy', new (input: never) => unknown, string]>([
    ['role', 'attachPolicy', AttachRolePolicyCommand, 'RoleName'],
    ['user', 'attachPolicy', AttachUserPolicyCommand, 'UserName'],
    ['group', 'attachPolicy', AttachGroupPolicyCommand, 'GroupName'],
    ['role', 'detachPolicy', DetachRolePolicyCommand, 'RoleName'],
    ['user', 'detachPolicy', DetachUserPolicyCommand, 'UserName'],
    ['group', 'detachPolicy', DetachGroupPolicyCommand, 'GroupName'],
  ])('%s %s', async (type, method, command, nameField) => {
    // Prepare
    iamMock.onAnyCommand().resolves({});

    // Act
    await gateway[method](type, 'p1', POLICY_ARN);

    // Assess
    const calls = iamMock.calls();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0]).toBeInstanceOf(command);
    expect(inputOf(0)).toEqual({
      [nameField]: 'p1',
      PolicyArn: POLICY_ARN,
    });
  });

  test('createPolicyVersion passes SetAsDefault and returns the new version id', async () => {
    // Prepare
    iamMock
      .on(CreatePolicyVersionCommand)
      .resolves({ PolicyVersion: { VersionId: 'v7', IsDefaultVersion: true } });

    // Act
    const versionId = await gateway.createPolicyVersion(POLICY_ARN, '{"a":1}', true);

    // Assess
    expect(versionId).toBe('v7');
    expect(iamMock.commandCalls(CreatePolicyVersionCommand)[0]?.args[0].input).toEqual({
      PolicyArn: POLICY_ARN,
      PolicyDocument: '{"a":1}',
      SetAsDefault: true,
    });
  });

  test('getPolicy reports the default version and attachment count', async () => {
    // Prepare
    iamMock
      .on(GetPolicyCommand, { PolicyArn: POLICY_ARN })
      .resolves({ Policy: { Arn: POLICY_ARN, DefaultVersionId: 'v4', AttachmentCount: 2 } });

    // Act
    const policy = await gateway.getPolicy(POLICY_ARN);

    // Assess
    expect(policy).toEqual({ policyArn: POLICY_ARN, defaultVersionId: 'v4', attachmentCount: 2 });
  });
});

describe('pagination', () => {
  test('listPolicyVersions follows Marker until IsTruncated is false', async () => {
    // Prepare
    const pages: Record<
      string,
      { Versions: { VersionId: string; IsDefaultVersion: boolean }[]; IsTruncated: boolean; Marker?: string }
    > = {
      first: {
        Versions: [
          { VersionId: 'v5', IsDefaultVersion: true },
          { VersionId: 'v4', IsDefaultVersion: false },
        ],
        IsTruncated: true,
        Marker: 'page-2',
      },
      'page-2': {
        Versions: [{ VersionId: 'v3', IsDefaultVersion: false }],
        IsTruncated: true,
        Marker: 'page-3',
      },
      'page-3': { Versions: [{ VersionId: 'v1', IsDefaultVersion: false }], IsTruncated: false },
    };
    iamMock
      .on(ListPolicyVersionsCommand)
      .callsFake((input: { Marker?: string }) => pages[input.Marker ?? 'first']);

    // Act
    const versions = await gateway.listPolicyVersions(POLICY_ARN);

    // Assess
    expect(versions.map((v) => [v.versionId, v.isDefaultVersion])).toEqual([
      ['v5', true],
      ['v4', false],
      ['v3', false],
      ['v1', false],
    ]);
    expect(iamMock.commandCalls(ListPolicyVersionsCommand).map((call) => call.args[0].input.Marker)).toEqual([
      undefined,
      'page-2',
      'page-3',
    ]);
  });

  test.each<[PrincipalType, new (input: never) => unknown, string]>([
    ['role', ListAttachedRolePoliciesCommand, 'RoleName'],
    ['user', ListAttachedUserPoliciesCommand, 'UserName'],
    ['group', ListAttachedGroupPoliciesCommand, 'GroupName'],
  ])('listAttachedPolicyArns for a %s reads every page', async (type, command, nameField) => {
    // Prepare
    const arn = (n: number) => `arn:aws:iam::123456789012:policy/p${n}`;
    iamMock.onAnyCommand().callsFake((input: { Marker?: string }) =>
      input.Marker === undefined
        ? {
            AttachedPolicies: [{ PolicyArn: arn(1) }, { PolicyArn: arn(2) }],
            IsTruncated: true,
            Marker: 'next',
          }
        : { AttachedPolicies: [{ PolicyArn: arn(3) }], IsTruncated: false },
    );

    // Act
    const arns = await gateway.listAttachedPolicyArns(type, 'p1');

    // Assess
    expect(arns).toEqual([arn(1), arn(2), arn(3)]);
    const calls = iamMock.calls();
    expect(calls).toHaveLength(2);
    for (const call of calls) expect(call.args[0]).toBeInstanceOf(command);
    expect(inputOf(1)).toEqual({ [nameField]: 'p1', Marker: 'next' });
  });

  test('a truncated page without a marker fails instead of looping', async () => {
    // Prepare
    iamMock.on(ListPolicyVersionsCommand).resolves({ Versions: [], IsTruncated: true });

    // Act
    const failure = await gateway.listPolicyVersions(POLICY_ARN).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(AwsOperationError);
    expect((failure as AwsOperationError).code).toBe('InvalidPagination');
    expect(iamMock.commandCalls(ListPolicyVersionsCommand)).toHaveLength(1);
  });

  test('a throttled second page surfaces as TransientError', async () => {
    // Prepare
    iamMock
      .on(ListPolicyVersionsCommand)
      .resolvesOnce({
        Versions: [{ VersionId: 'v2', IsDefaultVersion: true }],
        IsTruncated: true,
        Marker: 'm',
      })
      .rejectsOnce(serviceError('Throttling', 400));

    // Act
    const failure = await gateway.listPolicyVersions(POLICY_ARN).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(TransientError);
  });
});
