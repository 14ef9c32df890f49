/**
 * The stand-ins dispatch and parse by names their clients choose. A name that is a member of
 * Object.prototype must be treated as any unknown or ordinary name, as AWS does, so a product bug cannot
 * hide behind a stand-in that answers `TrentService.constructor` or drops a `__proto__` query parameter.
 */
import http from 'node:http';
import { toRequestParameters } from '../../local/iam/cloudtrail';
import { startKmsServer } from '../../local/kms/server';
import { type LambdaUrlEvent, startLambdaUrlServer } from '../../local/lambda-url/server';
import type { LocalStepFunctions } from '../../local/stepfunctions/runner';
import { startStepFunctionsServer } from '../../local/stepfunctions/server';
import { PROTOTYPE_NAMES } from '../support/prototype-names';

function post(url: string, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': target,
          'x-amz-date': '20260101T000000Z',
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

describe.each(PROTOTYPE_NAMES)('a name %s', (name) => {
  test('as an IAM request parameter is recorded in the CloudTrail event as data', () => {
    // Act: the event's parameter names are lower camel case, so `__proto__` and `constructor` stay as sent.
    const parameters = toRequestParameters(
      new URLSearchParams({ Action: 'X', [name]: 'v', PolicyName: 'p' }),
    );
    // Assess
    const key = name.charAt(0).toLowerCase() + name.slice(1);
    expect(Object.hasOwn(parameters, key)).toBe(true);
    expect(parameters[key]).toBe('v');
    expect(JSON.parse(JSON.stringify(parameters))).toEqual({ [key]: 'v', policyName: 'p' });
  });

  test('is an unknown KMS operation', async () => {
    // Prepare
    const kms = await startKmsServer();
    try {
      // Act
      const reply = await post(kms.endpoint, `TrentService.${name}`);
      // Assess
      expect(reply.status).toBe(400);
      expect(reply.body).toContain('UnknownOperationException');
    } finally {
      await kms.close();
    }
  });

  test('is an unknown Step Functions operation', async () => {
    // Prepare: the operation is looked up before the runner is used, so none is needed.
    const server = await startStepFunctionsServer({} as LocalStepFunctions);
    try {
      // Act
      const reply = await post(server.endpoint, `AWSStepFunctions.${name}`);
      // Assess
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.body).toContain('UnknownOperationException');
    } finally {
      await server.close();
    }
  });

  test('as a query parameter and a header reaches the function as plain data', async () => {
    // Prepare
    const seen: LambdaUrlEvent[] = [];
    const lambda = await startLambdaUrlServer(async (event: LambdaUrlEvent) => {
      seen.push(event);
      return { statusCode: 200, body: 'ok' };
    });
    try {
      // Act
      await new Promise<void>((resolve, reject) => {
        const req = http.request(
          `${lambda.url}?${encodeURIComponent(name)}=x`,
          { method: 'GET', agent: false, headers: { [name]: 'y' } },
          (res) => res.resume().on('end', () => resolve()),
        );
        req.on('error', reject);
        req.end();
      });
      // Assess
      const [event] = seen;
      expect(Object.hasOwn(event?.queryStringParameters ?? {}, name)).toBe(true);
      expect(event?.queryStringParameters?.[name]).toBe('x');
      expect(Object.hasOwn(event?.headers ?? {}, name.toLowerCase())).toBe(true);
      expect(event?.headers[name.toLowerCase()]).toBe('y');
    } finally {
      await lambda.close();
    }
  });
});
