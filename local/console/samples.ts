/**
 * The console's ready-made changes, and how one is made: as a real IAM call by a chosen actor against the
 * local IAM, whose CloudTrail event starts the workflow as the EventBridge rule would.
 */
import {
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  IAMClient,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ACCOUNT, DEVELOPER_KEY, type Sandbox } from '../sandbox';

/** The role the "assumed role" actor assumes, and the role the attachment sample targets. */
export const DEVELOPER_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/developer`;
export const APP_ROLE = 'app-server';
export const ADMIN_POLICY_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';

export type Actor = 'alice' | 'role';
export const ACTORS: Readonly<Record<Actor, string>> = {
  alice: 'IAM user alice',
  role: 'alice in the assumed role "developer" (through STS)',
};

export interface Sample {
  title: string;
  /** The IAM calls, made in order. */
  calls: (suffix: string) => IamCall[];
}

/** One IAM write, in CloudTrail's requestParameters shape (the same shape a recorded event carries). */
export interface IamCall {
  eventName: string;
  requestParameters: Record<string, unknown>;
}

const doc = (statement: object) => JSON.stringify({ Version: '2012-10-17', Statement: [statement] });

export const SAMPLES: Readonly<Record<string, Sample>> = {
  'risky-create-policy': {
    title: 'Risky CreatePolicy (s3:DeleteBucket)',
    calls: (suffix) => [
      {
        eventName: 'CreatePolicy',
        requestParameters: {
          policyName: `bucket-cleanup-${suffix}`,
          policyDocument: doc({
            Sid: 'Cleanup',
            Effect: 'Allow',
            Action: ['s3:DeleteBucket'],
            Resource: '*',
          }),
        },
      },
    ],
  },
  'admin-attachment': {
    title: `AdministratorAccess attached to the role ${APP_ROLE}`,
    calls: () => [
      {
        eventName: 'AttachRolePolicy',
        requestParameters: { roleName: APP_ROLE, policyArn: ADMIN_POLICY_ARN },
      },
    ],
  },
  'not-action': {
    title: 'NotAction policy (everything but a few reads)',
    calls: (suffix) => [
      {
        eventName: 'CreatePolicy',
        requestParameters: {
          policyName: `almost-everything-${suffix}`,
          policyDocument: doc({ Effect: 'Allow', NotAction: ['s3:GetObject'], Resource: '*' }),
        },
      },
    ],
  },
  'read-only': {
    title: 'Harmless read-only policy',
    calls: (suffix) => [
      {
        eventName: 'CreatePolicy',
        requestParameters: {
          policyName: `read-reports-${suffix}`,
          policyDocument: doc({ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: '*' }),
        },
      },
    ],
  },
  burst: {
    title: 'A burst of 50 risky policies',
    calls: (suffix) =>
      Array.from({ length: 50 }, (_, i) => ({
        eventName: 'CreatePolicy',
        requestParameters: {
          policyName: `burst-${suffix}-${i + 1}`,
          policyDocument: doc({
            Effect: 'Allow',
            Action: ['iam:PassRole', 's3:DeleteBucket'],
            Resource: '*',
          }),
        },
      })),
  },
};

/** A pasted policy document, made as CreatePolicy. */
export function pastedPolicy(document: string, suffix: string): IamCall[] {
  return [
    {
      eventName: 'CreatePolicy',
      requestParameters: { policyName: `pasted-${suffix}`, policyDocument: document },
    },
  ];
}

/** The IAM writes a recorded CloudTrail event can be replayed as. */
const REPLAYABLE = new Set([
  'CreatePolicy',
  'CreatePolicyVersion',
  'PutRolePolicy',
  'PutUserPolicy',
  'PutGroupPolicy',
  'AttachRolePolicy',
  'AttachUserPolicy',
  'AttachGroupPolicy',
]);

/** A recorded CloudTrail event (or an EventBridge envelope of one) as the IAM call it records. */
export function callOfEvent(event: unknown): IamCall {
  const record = event as { detail?: unknown } | null;
  const detail = (record && typeof record === 'object' && 'detail' in record ? record.detail : record) as {
    eventName?: unknown;
    requestParameters?: unknown;
  } | null;
  const eventName = detail?.eventName;
  const parameters = detail?.requestParameters;
  if (typeof eventName !== 'string' || !REPLAYABLE.has(eventName)) {
    throw new SimulateError(`the event's eventName must be one of ${[...REPLAYABLE].join(', ')}`);
  }
  if (!parameters || typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw new SimulateError('the event has no requestParameters object');
  }
  return { eventName, requestParameters: parameters as Record<string, unknown> };
}

/** A change the console refuses to make (bad input); its message is safe to show. */
export class SimulateError extends Error {
  override name = 'SimulateError';
}

/**
 * An IAM client for the actor: alice's own keys, or a session of the developer role assumed through STS;
 * in a member account of an organization sandbox, that account's developer (the IAM user `dev`).
 */
export async function clientFor(sandbox: Sandbox, actor: Actor, accountId = ACCOUNT): Promise<IAMClient> {
  if (accountId !== ACCOUNT) {
    const member = sandbox.organization?.members[accountId];
    if (!member) throw new SimulateError(`no account ${JSON.stringify(accountId)} in this sandbox`);
    if (actor !== 'alice') {
      throw new SimulateError('the assumed-role actor exists only in the central account');
    }
    return member.developer;
  }
  if (actor === 'alice') return sandbox.developer;
  const sts = new STSClient({
    region: 'us-east-1',
    endpoint: sandbox.sts.endpoint,
    credentials: { accessKeyId: DEVELOPER_KEY, secretAccessKey: 'local' },
  });
  try {
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: DEVELOPER_ROLE_ARN,
        RoleSessionName: 'alice',
        SourceIdentity: 'alice',
      }),
    );
    if (!Credentials?.AccessKeyId || !Credentials.SecretAccessKey)
      throw new Error('STS issued no credentials');
    return new IAMClient({
      region: 'us-east-1',
      endpoint: sandbox.iam.endpoint,
      credentials: {
        accessKeyId: Credentials.AccessKeyId,
        secretAccessKey: Credentials.SecretAccessKey,
        ...(Credentials.SessionToken && { sessionToken: Credentials.SessionToken }),
      },
      maxAttempts: 1,
    });
  } finally {
    sts.destroy();
  }
}

const str = (parameters: Record<string, unknown>, key: string): string => {
  const value = parameters[key];
  if (typeof value !== 'string') throw new SimulateError(`requestParameters.${key} must be a string`);
  return value;
};

/** Makes one IAM call with the client. */
export async function makeCall(client: IAMClient, call: IamCall): Promise<void> {
  const p = call.requestParameters;
  switch (call.eventName) {
    case 'CreatePolicy':
      await client.send(
        new CreatePolicyCommand({
          PolicyName: str(p, 'policyName'),
          PolicyDocument: str(p, 'policyDocument'),
        }),
      );
      return;
    case 'CreatePolicyVersion':
      await client.send(
        new CreatePolicyVersionCommand({
          PolicyArn: str(p, 'policyArn'),
          PolicyDocument: str(p, 'policyDocument'),
          SetAsDefault: p.setAsDefault === true,
        }),
      );
      return;
    case 'PutRolePolicy':
      await client.send(
        new PutRolePolicyCommand({
          RoleName: str(p, 'roleName'),
          PolicyName: str(p, 'policyName'),
          PolicyDocument: str(p, 'policyDocument'),
        }),
      );
      return;
    case 'PutUserPolicy':
      await client.send(
        new PutUserPolicyCommand({
          UserName: str(p, 'userName'),
          PolicyName: str(p, 'policyName'),
          PolicyDocument: str(p, 'policyDocument'),
        }),
      );
      return;
    case 'PutGroupPolicy':
      await client.send(
        new PutGroupPolicyCommand({
          GroupName: str(p, 'groupName'),
          PolicyName: str(p, 'policyName'),
          PolicyDocument: str(p, 'policyDocument'),
        }),
      );
      return;
    case 'AttachRolePolicy':
      await client.send(
        new AttachRolePolicyCommand({ RoleName: str(p, 'roleName'), PolicyArn: str(p, 'policyArn') }),
      );
      return;
    case 'AttachUserPolicy':
      await client.send(
        new AttachUserPolicyCommand({ UserName: str(p, 'userName'), PolicyArn: str(p, 'policyArn') }),
      );
      return;
    case 'AttachGroupPolicy':
      await client.send(
        new AttachGroupPolicyCommand({ GroupName: str(p, 'groupName'), PolicyArn: str(p, 'policyArn') }),
      );
      return;
    default:
      throw new SimulateError(`cannot make ${call.eventName}`);
  }
}

/**
 * What the samples need in the account: the role the attachment targets and the AWS managed policies it
 * attaches (AWS managed policies exist in every account; a role is made by alice, which is not gated).
 */
export async function seedAccount(sandbox: Sandbox): Promise<void> {
  // Every account of an organization sandbox too (as the developer of each: not gated).
  for (const { iam, developer } of [
    { iam: sandbox.iam, developer: sandbox.developer },
    ...Object.values(sandbox.organization?.members ?? {}),
  ]) {
    await seedOne(iam, developer);
  }
}

async function seedOne(iam: Sandbox['iam'], developer: IAMClient): Promise<void> {
  iam.addAwsManagedPolicy('AdministratorAccess', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  });
  iam.addAwsManagedPolicy('ReadOnlyAccess', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:Get*', 's3:List*', 'iam:Get*', 'iam:List*'], Resource: '*' }],
  });
  await developer.send(
    new CreateRoleCommand({
      RoleName: APP_ROLE,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
}
