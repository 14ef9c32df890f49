/**
 * "No way around the gate": each class of bypass an attacker with IAM write access could try, through the
 * real state machine, the real handlers and the stand-ins. Every one must end with the change contained
 * (quarantined, with a record saying why) or with an alert that says plainly it is NOT contained.
 */
import {
  AddUserToGroupCommand,
  AttachRolePolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateUserCommand,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import fc from 'fast-check';
import { ACCOUNT, decisions, type Sandbox, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { quarantineDocument, reachGroupMembers } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { approvalIdOf, eventually, mails, waitForPending } from '../support/approvals';
import { createRole, putRolePolicy } from '../support/iam';
import { iamNameArbitrary, KNOWN_BAD_NAMES } from '../support/prototype-names';

const RISKY = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
const approver = { channel: 'slack' as const, id: SLACK_USERS.ana.id };

/** One generated case of the inline-policy property. */
interface PrincipalCase {
  kind: 'role' | 'user' | 'group';
  name: string;
  policyName: string;
  path: string;
  member: string | undefined;
}

function defaultDocument(sandbox: Sandbox, arn: string): string | undefined {
  return sandbox.iam.getPolicy(arn)?.versions.find((v) => v.isDefaultVersion)?.document;
}

describe('normalisation never fails open', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  test('policies with any grammar-valid name and path are gated like any other', async () => {
    // Prepare
    // Dozens of approvals in a row: Slack's rate limit is not the subject (slack-delivery.test.ts).
    sandbox = await startSandbox({ slackRateLimits: false });
    const arbitraries = fc.record({
      // Names of Object.prototype members half of the time: a plain object keyed by one reads the member.
      name: iamNameArbitrary(/^[\w+=,.@-]{1,64}$/),
      // CreatePolicy's own path pattern, as the IAM API reference gives it: `((/[A-Za-z0-9.,+@=_-]+)*)/`.
      path: fc.oneof(
        fc.constant('/'),
        iamNameArbitrary(/^[A-Za-z0-9.,+@=_-]{1,12}$/).map((segment) => `/${segment}/`),
        fc.stringMatching(/^(\/[A-Za-z0-9.,+@=_-]{1,12}){1,4}\/$/),
      ),
    });
    // Act / Assess: every generated policy, created with IAM's widest grammar, ends quarantined.
    await fc.assert(
      fc.asyncProperty(arbitraries, async ({ name, path }) => {
        sandbox.iam.reset();
        const created = await sandbox.developer.send(
          new CreatePolicyCommand({ PolicyName: name, Path: path, PolicyDocument: JSON.stringify(RISKY) }),
        );
        const arn = created.Policy?.Arn as string;
        const [record] = await waitForPending(sandbox);
        expect(record?.change.target).toEqual({ kind: 'managed-policy', policyArn: arn, policyName: name });
        expect(
          documentsEqual(defaultDocument(sandbox, arn), quarantineDocument(record?.approvalId ?? '')),
        ).toBe(true);
        await decisions().decide(record?.approvalId ?? '', 'DENIED', approver);
        await sandbox.settle();
      }),
      {
        numRuns: 12,
        examples: KNOWN_BAD_NAMES.map((name): [{ name: string; path: string }] => [
          { name, path: `/${name}/` },
        ]),
      },
    );
  });

  test('inline policies on principals with any grammar-valid name and path (//, :, ~ ...) are gated', async () => {
    // Prepare: IAM's grammars for principals: names [\w+=,.@-] (64 for roles and users, 128 for groups),
    // paths `/` or `/[\x21-\x7e]+/` (so `/a//b/` and `/x:y/` are valid).
    // Dozens of approvals in a row: Slack's rate limit is not the subject (slack-delivery.test.ts).
    sandbox = await startSandbox({ slackRateLimits: false });
    // Names of Object.prototype members (`constructor`, `__proto__`...) half of the time, for the principal,
    // the policy and a group's member: a plain object keyed by one reads the member, and a record holding
    // one as a key could not be stored (the change then stayed in force).
    const principal: fc.Arbitrary<PrincipalCase> = fc.record({
      kind: fc.constantFrom('role' as const, 'user' as const, 'group' as const),
      name: iamNameArbitrary(/^[\w+=,.@-]{1,64}$/),
      policyName: iamNameArbitrary(/^[\w+=,.@-]{1,128}$/),
      path: fc.oneof(
        fc.constant('/'),
        iamNameArbitrary(/^[\x21-\x2e\x30-\x7e]{1,30}$/).map((segment) => `/${segment}/`),
        fc.stringMatching(/^\/[\x21-\x7e]{1,30}\/$/),
      ),
      member: fc.option(iamNameArbitrary(/^[\w+=,.@-]{1,64}$/), { nil: undefined }),
    });
    // Act / Assess
    await fc.assert(
      fc.asyncProperty(principal, async ({ kind, name, policyName, path, member }) => {
        sandbox.iam.reset();
        const document = JSON.stringify(RISKY);
        if (kind === 'role') {
          await createRole(sandbox, name, path);
          await sandbox.developer.send(
            new PutRolePolicyCommand({ RoleName: name, PolicyName: policyName, PolicyDocument: document }),
          );
        } else if (kind === 'user') {
          await sandbox.developer.send(new CreateUserCommand({ UserName: name, Path: path }));
          await sandbox.developer.send(
            new PutUserPolicyCommand({ UserName: name, PolicyName: policyName, PolicyDocument: document }),
          );
        } else {
          await sandbox.developer.send(new CreateGroupCommand({ GroupName: name, Path: path }));
          if (member !== undefined) {
            await sandbox.developer.send(new CreateUserCommand({ UserName: member }));
            await sandbox.developer.send(new AddUserToGroupCommand({ GroupName: name, UserName: member }));
            // The membership itself is harmless (the group holds nothing yet): let its check end first.
            await sandbox.settle();
          }
          await sandbox.developer.send(
            new PutGroupPolicyCommand({ GroupName: name, PolicyName: policyName, PolicyDocument: document }),
          );
        }
        const [record] = await waitForPending(sandbox);
        expect(record?.change.target).toEqual({
          kind: 'inline-policy',
          principalType: kind,
          principalName: name,
          policyName,
        });
        expect(sandbox.iam.getInlinePolicy(kind, name, policyName)).toBe(
          quarantineDocument(record?.approvalId ?? ''),
        );
        if (kind === 'group') {
          expect(reachGroupMembers(record?.reach ?? { groupMembers: [] })).toEqual([
            { group: name, users: member === undefined ? [] : [member] },
          ]);
        }
        await decisions().decide(record?.approvalId ?? '', 'DENIED', approver);
        await sandbox.settle();
      }),
      {
        numRuns: 15,
        // Every kind with a name that once broke the gate, run first whatever the seed.
        examples: (['role', 'user', 'group'] as const).flatMap((kind) =>
          KNOWN_BAD_NAMES.map((name): [PrincipalCase] => [
            { kind, name, policyName: name, path: '/', member: name },
          ]),
        ),
      },
    );
  });

  test('an event PolicyGate cannot fully read is contained anyway, its problems stated', async () => {
    // Prepare: a real risky inline policy, and its event mangled in every field that is not the target.
    sandbox = await startSandbox();
    sandbox.route(() => 'lose');
    await createRole(sandbox, 'app');
    const real = await putRolePolicy(sandbox, 'app', 'wide', JSON.stringify(RISKY));
    const mangled = {
      ...real,
      detail: {
        ...real.detail,
        eventTime: 'yesterday',
        eventID: 42,
        userIdentity: 'someone',
        requestParameters: { roleName: 'app', policyName: 'wide' },
      },
    };
    // Act
    sandbox.sfn.startExecution(mangled);
    // The event has no usable id, so the record is found by what it governs.
    const record = await eventually(async () => {
      const [found] = await sandbox.store.byPrincipal('role', 'app');
      const requested = mails(sandbox, /approval needed/).length > 0;
      return found?.taskToken && requested ? found : undefined;
    });
    // Assess
    expect(record?.approvalId).toMatch(/^evt-[0-9a-f]{32}$/);
    const problems = record?.change.problems?.join('\n');
    for (const field of ['eventTime', 'eventID', 'userIdentity'])
      expect(problems).toContain(`detail.${field}`);
    expect(sandbox.iam.getInlinePolicy('role', 'app', 'wide')).toEqual(
      quarantineDocument(record?.approvalId ?? ''),
    );
    const request = await eventually(() => mails(sandbox, /approval needed/)[0]);
    expect(request.message).toMatch(/could not be read in full/);
  });

  test('a harmless change whose event cannot be fully read is contained too: unknown is never harmless', async () => {
    // Prepare
    sandbox = await startSandbox();
    sandbox.route(() => 'lose');
    await createRole(sandbox, 'app');
    const harmless = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
    };
    const real = await putRolePolicy(sandbox, 'app', 'read', JSON.stringify(harmless));
    // Act
    sandbox.sfn.startExecution({ ...real, detail: { ...real.detail, errorCode: { odd: true } } });
    const [record] = await waitForPending(sandbox);
    // Assess
    expect(record?.findings).toEqual([]);
    expect(record?.change.problems?.[0]).toMatch(/errorCode/);
    expect(record?.quarantine).toBeDefined();
  });

  test('an event whose target cannot be located alerts "NOT contained" with the identifiers it carried', async () => {
    // Prepare
    sandbox = await startSandbox();
    sandbox.route(() => 'lose');
    await createRole(sandbox, 'app');
    const real = await putRolePolicy(sandbox, 'app', 'wide', JSON.stringify(RISKY));
    // Act
    sandbox.sfn.startExecution({
      ...real,
      detail: { ...real.detail, requestParameters: { policyName: 'wide', roleName: 7 } },
    });
    const [result] = await sandbox.settle();
    // Assess
    expect(result?.status).toBe('FAILED');
    const alert = mails(sandbox, /ALERT/)[0];
    expect(alert?.subject).toMatch(/NOT contained/);
    expect(alert?.message).toMatch(/NOT contained/);
    expect(alert?.message).toContain(real.detail.eventID);
    expect(alert?.message).toMatch(/requestParameters\.policyName: "?wide/);
    // Loud in Slack as well: there is no request message to attach it to, so a notice is posted.
    expect(JSON.stringify(sandbox.slack.messages())).toMatch(/NOT contained/);
  });
});

describe('bounded analysis and one reading of a document', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  test('a document that runs the analysis past its budget is quarantined, the reason recorded', async () => {
    // Prepare: every action restricted, and 210 "Allow *" statements: each action is granted 210 times.
    sandbox = await startSandbox({ restrictedActions: '*:*' });
    await createRole(sandbox, 'app');
    const statements = Array.from({ length: 210 }, () => ({ Effect: 'Allow', Action: '*', Resource: '*' }));
    // Act
    await sandbox.developer.send(
      new PutRolePolicyCommand({
        RoleName: 'app',
        PolicyName: 'many',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
      }),
    );
    const [record] = await waitForPending(sandbox);
    // Assess
    expect(record?.analysisError).toMatch(/analysis budget exceeded/);
    expect(sandbox.iam.getInlinePolicy('role', 'app', 'many')).toEqual(
      quarantineDocument(record?.approvalId ?? ''),
    );
  });

  test('the worst-case matcher input (thousands of alternating wildcards) finishes, and what it grants is contained', async () => {
    // Prepare: one pattern of ~9,600 wildcards (matches nothing real), one that matches s3:DeleteBucket.
    sandbox = await startSandbox();
    await createRole(sandbox, 'app');
    const actions = [`s3:${'*?'.repeat(4_800)}`, `s3:${'*?'.repeat(6)}Bucket`];
    // Act
    await sandbox.developer.send(
      new PutRolePolicyCommand({
        RoleName: 'app',
        PolicyName: 'stars',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
        }),
      }),
    );
    const [record] = await waitForPending(sandbox);
    // Assess
    expect(record?.analysisError).toBeUndefined();
    expect(record?.findings.map((f) => f.action)).toEqual(['s3:DeleteBucket']);
    expect(record?.findings[0]?.statements[0]?.matchedBy).toBe(actions[1]);
  });

  test('duplicate keys make a document unanalysable: quarantined, however harmless the last value looks', async () => {
    // Prepare: JSON.parse keeps the last Statement (harmless); IAM may read the first (s3:*).
    sandbox = await startSandbox();
    await createRole(sandbox, 'app');
    const text =
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}],' +
      '"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}';
    // Act
    await sandbox.developer.send(
      new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'dup', PolicyDocument: text }),
    );
    const [record] = await waitForPending(sandbox);
    // Assess
    expect(record?.analysisError).toMatch(/duplicate/i);
    expect(record?.original.document).toBe(text);
    expect(sandbox.iam.getInlinePolicy('role', 'app', 'dup')).toEqual(
      quarantineDocument(record?.approvalId ?? ''),
    );
  });

  test('an emulator that returns raw documents: a "%" survives quarantine and restore byte for byte', async () => {
    // Prepare
    sandbox = await startSandbox({ documentEncoding: 'raw' });
    await createRole(sandbox, 'app');
    const text = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::reports/100%25/%7Bx%7D' },
      ],
    });
    // Act
    await sandbox.developer.send(
      new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'pct', PolicyDocument: text }),
    );
    const [record] = await waitForPending(sandbox);
    await decisions().decide(record?.approvalId ?? '', 'APPROVED', approver);
    await sandbox.settle();
    // Assess
    expect(record?.original.document).toBe(text);
    expect(sandbox.iam.getInlinePolicy('role', 'app', 'pct')).toBe(text);
    expect((await sandbox.store.get(record?.approvalId ?? ''))?.outcome?.result).toBe('RESTORED');
  });
});

describe('attachments are part of what is reviewed', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  /** A risky new version of a policy attached to `reviewed`, quarantined and waiting. */
  async function pendingPolicy(): Promise<{ arn: string; approvalId: string }> {
    await createRole(sandbox, 'reviewed');
    const created = await sandbox.developer.send(
      new CreatePolicyCommand({
        PolicyName: 'shared',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
        }),
      }),
    );
    const arn = created.Policy?.Arn as string;
    await sandbox.developer.send(new AttachRolePolicyCommand({ RoleName: 'reviewed', PolicyArn: arn }));
    await sandbox.settle();
    await sandbox.developer.send(
      new CreatePolicyVersionCommand({
        PolicyArn: arn,
        PolicyDocument: JSON.stringify(RISKY),
        SetAsDefault: true,
      }),
    );
    const [record] = await waitForPending(sandbox);
    return { arn, approvalId: record?.approvalId ?? '' };
  }

  test('the principals a policy is attached to are recorded and shown in Slack and e-mail', async () => {
    // Prepare
    sandbox = await startSandbox();
    // Act
    const { approvalId } = await pendingPolicy();
    const record = await sandbox.store.get(approvalId);
    // Assess
    expect(record?.reach).toMatchObject({ attachedTo: [{ type: 'role', name: 'reviewed' }], count: 1 });
    const mail = await eventually(() => mails(sandbox, /approval needed/)[0]);
    expect(mail.message).toMatch(/Reaches at quarantine time \(1\): role reviewed/);
    const ref = await eventually(async () => (await sandbox.store.get(approvalId))?.slackMessage);
    expect(JSON.stringify(sandbox.slack.message(ref.channel, ref.ts)?.blocks)).toMatch(/Attached to \(1\)/);
  });

  test('attaching a policy whose approval is pending is analysed against the version under approval', async () => {
    // Prepare
    sandbox = await startSandbox();
    const { arn, approvalId } = await pendingPolicy();
    await createRole(sandbox, 'widened');
    // Act: the policy's default is the harmless quarantine document now.
    await sandbox.developer.send(new AttachRolePolicyCommand({ RoleName: 'widened', PolicyArn: arn }));
    const pending = await waitForPending(sandbox, 2);
    const attach = pending.find((r) => r.approvalId !== approvalId);
    // Assess
    expect(attach?.original).toMatchObject({ kind: 'attachment', pendingVersions: [{ approvalId }] });
    expect(attach?.findings.map((f) => f.action)).toEqual(expect.arrayContaining(['s3:DeleteBucket']));
    expect(sandbox.iam.getAttachedPolicyArns('role', 'widened')).toEqual([]);
  });

  test('a restore finding the policy attached to someone no approval covers stops with CONFLICT', async () => {
    // Prepare: the attachment's event is lost, so nothing reviewed it.
    sandbox = await startSandbox();
    const { arn, approvalId } = await pendingPolicy();
    await createRole(sandbox, 'widened');
    sandbox.route((event) => (event.detail.eventName === 'AttachRolePolicy' ? 'lose' : 'deliver'));
    await sandbox.developer.send(new AttachRolePolicyCommand({ RoleName: 'widened', PolicyArn: arn }));
    // Act
    await decisions().decide(approvalId, 'APPROVED', approver);
    await sandbox.settle();
    // Assess
    const record = await sandbox.store.get(approvalId);
    expect(record?.status).toBe('CONFLICT');
    expect(record?.outcome?.detail).toMatch(/role widened, which no approval covers/);
    expect(documentsEqual(defaultDocument(sandbox, arn), quarantineDocument(approvalId))).toBe(true);
  });

  test('an attachment approved with the version under review is covered: the policy then restores', async () => {
    // Prepare
    sandbox = await startSandbox();
    const { arn, approvalId } = await pendingPolicy();
    await createRole(sandbox, 'widened');
    await sandbox.developer.send(new AttachRolePolicyCommand({ RoleName: 'widened', PolicyArn: arn }));
    const attach = (await waitForPending(sandbox, 2)).find((r) => r.approvalId !== approvalId);
    // Act: the attachment first (it grants only the quarantine document for now), then the policy.
    await decisions().decide(attach?.approvalId ?? '', 'APPROVED', approver);
    // Not settle(): the policy's own approval still waits for its decision.
    await eventually(async () => (await sandbox.store.get(attach?.approvalId ?? ''))?.outcome);
    await decisions().decide(approvalId, 'APPROVED', approver);
    await sandbox.settle();
    // Assess
    expect((await sandbox.store.get(attach?.approvalId ?? ''))?.outcome?.result).toBe('RESTORED');
    expect((await sandbox.store.get(approvalId))?.outcome?.result).toBe('RESTORED');
    expect(documentsEqual(defaultDocument(sandbox, arn), RISKY)).toBe(true);
    expect(sandbox.iam.getAttachedPolicyArns('role', 'widened')).toEqual([arn]);
  });
});

test('the sandbox account is the one the events name', () => {
  expect(approvalIdOf({ detail: { eventID: 'x' } })).toBe('x');
  expect(ACCOUNT).toMatch(/^\d{12}$/);
});
