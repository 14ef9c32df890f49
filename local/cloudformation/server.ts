import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import {
  FaultCounter,
  INCOMPLETE_SIGNATURE_MESSAGE,
  listenOnLoopback,
  newRequestId,
  readSignedRequest,
  send,
  xmlEscape,
} from '../http-util';

/**
 * Local stand-in for AWS CloudFormation, enough of it for `npm run slack:manifest`: DescribeStacks only.
 *
 * `@aws-sdk/client-cloudformation` speaks the AWS Query protocol (form-encoded POST, XML response), so that
 * is the wire format here. Stacks are set up from the test side with {@link LocalCloudFormationServer.putStack}.
 */

const API_VERSION = '2010-05-15';
const XML_NS = `http://cloudformation.amazonaws.com/doc/${API_VERSION}/`;
const MAX_REQUEST_BYTES = 64 * 1024;
// CloudFormation's rule for stack names; DescribeStacks also accepts a stack id (ARN).
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/** A stack as the stand-in holds it. */
export interface LocalStack {
  stackId: string;
  stackName: string;
  stackStatus: string;
  creationTime: Date;
  /** OutputKey to OutputValue, in declaration order. */
  outputs: Record<string, string>;
}

export interface StartCloudFormationServerOptions {
  /** Stacks that exist from the start: stack name to outputs (status `CREATE_COMPLETE`). */
  stacks?: Record<string, Record<string, string>>;
  /** Region and account for stack ids. */
  region?: string;
  accountId?: string;
}

/** One DescribeStacks call as received, for asserting what the client asked. */
export interface DescribeStacksCall {
  stackName: string | undefined;
}

export interface LocalCloudFormationServer {
  /** Base URL for `new CloudFormationClient({ endpoint })` or `AWS_ENDPOINT_URL_CLOUDFORMATION`. */
  readonly endpoint: string;
  /** Every signed DescribeStacks call that reached the stand-in, oldest first. */
  readonly calls: readonly DescribeStacksCall[];
  /** Creates or replaces a stack; returns it. */
  putStack(name: string, outputs?: Record<string, string>, status?: string): LocalStack;
  /** Deletes a stack (DescribeStacks by name then reports it as not existing, as AWS does). */
  deleteStack(name: string): void;
  /**
   * Makes the next `count` signed requests fail with a 500 `InternalFailure`. The SDK retries 5xx by itself,
   * so a test that wants the failure to surface should build its client with `maxAttempts: 1`.
   */
  failNext(count?: number): void;
  close(): Promise<void>;
}

/** An error CloudFormation would answer with. */
class CloudFormationFault {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {}
}

/** Starts the CloudFormation stand-in on 127.0.0.1 with a random port. */
export async function startCloudFormationServer(
  options: StartCloudFormationServerOptions = {},
): Promise<LocalCloudFormationServer> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const stacks = new Map<string, LocalStack>();
  const calls: DescribeStacksCall[] = [];
  const faults = new FaultCounter();

  const putStack = (name: string, outputs: Record<string, string> = {}, status = 'CREATE_COMPLETE') => {
    if (!STACK_NAME.test(name)) throw new Error(`putStack: not a valid stack name: ${name}`);
    const stack: LocalStack = {
      stackId: `arn:aws:cloudformation:${region}:${accountId}:stack/${name}/${randomUUID()}`,
      stackName: name,
      stackStatus: status,
      creationTime: new Date(),
      outputs: { ...outputs },
    };
    stacks.set(name, stack);
    return stack;
  };
  for (const [name, outputs] of Object.entries(options.stacks ?? {})) putStack(name, outputs);

  const describeStacks = (stackName: string | undefined): LocalStack[] => {
    if (stackName === undefined || stackName === '') return [...stacks.values()];
    const stack = stackName.startsWith('arn:')
      ? [...stacks.values()].find((s) => s.stackId === stackName)
      : stacks.get(stackName);
    if (stack === undefined) {
      throw new CloudFormationFault(400, 'ValidationError', `Stack with id ${stackName} does not exist`);
    }
    return [stack];
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestId = newRequestId();
    try {
      const body = await readSignedRequest(req, MAX_REQUEST_BYTES, (problem) => {
        switch (problem) {
          case 'too-large':
            return new CloudFormationFault(413, 'RequestEntityTooLarge', 'Request body too large');
          case 'missing-auth':
            return new CloudFormationFault(
              403,
              'MissingAuthenticationToken',
              'Request is missing Authentication Token',
            );
          case 'incomplete-auth':
            return new CloudFormationFault(400, 'IncompleteSignature', INCOMPLETE_SIGNATURE_MESSAGE);
        }
      });
      if (faults.take()) throw new CloudFormationFault(500, 'InternalFailure', 'Internal Failure');
      const fields = formFields(req, body);
      if (fields.Version !== undefined && fields.Version !== API_VERSION) {
        throw new CloudFormationFault(
          400,
          'InvalidParameterValue',
          `Unsupported API version ${fields.Version}; expected ${API_VERSION}`,
        );
      }
      const action = fields.Action ?? '';
      if (action !== 'DescribeStacks') {
        throw new CloudFormationFault(
          400,
          'InvalidAction',
          `Could not find operation ${action} for version ${API_VERSION} (local CloudFormation stand-in supports DescribeStacks only)`,
        );
      }
      calls.push({ stackName: fields.StackName });
      sendDescribeStacks(res, requestId, describeStacks(fields.StackName));
    } catch (err) {
      if (!(err instanceof CloudFormationFault)) throw err;
      sendFault(res, requestId, err);
    }
  };

  const started = await listenOnLoopback(handle);
  return {
    endpoint: started.endpoint,
    calls,
    putStack,
    deleteStack: (name) => {
      stacks.delete(name);
    },
    failNext: (count = 1) => faults.failNext(count),
    close: started.close,
  };
}

/** Query protocol: form fields from the body, and from the URL for GET. */
function formFields(req: http.IncomingMessage, body: Buffer): Record<string, string | undefined> {
  const form = new URLSearchParams(new URL(req.url ?? '/', 'http://local').search);
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) form.set(key, value);
  return Object.fromEntries(form);
}

function stackXml(stack: LocalStack): string {
  const outputs = Object.entries(stack.outputs)
    .map(
      ([key, value]) =>
        `<member><OutputKey>${xmlEscape(key)}</OutputKey><OutputValue>${xmlEscape(value)}</OutputValue></member>`,
    )
    .join('');
  return (
    `<member><StackId>${xmlEscape(stack.stackId)}</StackId><StackName>${xmlEscape(stack.stackName)}</StackName>` +
    `<CreationTime>${stack.creationTime.toISOString()}</CreationTime>` +
    `<StackStatus>${xmlEscape(stack.stackStatus)}</StackStatus><DisableRollback>false</DisableRollback>` +
    `<NotificationARNs/><Outputs>${outputs}</Outputs><Tags/></member>`
  );
}

function sendDescribeStacks(res: http.ServerResponse, requestId: string, stacks: LocalStack[]): void {
  const xml =
    `<DescribeStacksResponse xmlns="${XML_NS}"><DescribeStacksResult><Stacks>${stacks.map(stackXml).join('')}` +
    `</Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>` +
    '</DescribeStacksResponse>';
  send(res, 200, 'text/xml', xml, { 'x-amzn-requestid': requestId });
}

function sendFault(res: http.ServerResponse, requestId: string, fault: CloudFormationFault): void {
  const xml =
    `<ErrorResponse xmlns="${XML_NS}"><Error><Type>${fault.type}</Type><Code>${xmlEscape(fault.code)}</Code>` +
    `<Message>${xmlEscape(fault.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  send(res, fault.status, 'text/xml', xml, { 'x-amzn-requestid': requestId });
}
