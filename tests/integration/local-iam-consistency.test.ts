import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  GetAccountAuthorizationDetailsCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  type IAMServiceException,
  ListAttachedRolePoliciesCommand,
  ListRolesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { startIamServer } from '../../local/iam';
import { TEST_CREDENTIALS as CREDENTIALS, useLocalIam } from '../support/local-iam';

const TRUST = `{ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }] }`;
const READ = `{ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a&b/*" }] }`;
const WRITE = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`;

describe('local IAM stand-in: eventual consistency and document encodings', () => {
  const iam = useLocalIam();

  beforeEach(() => {
    iam.server.setDocumentEncoding('url');
  });

  describe('serveStaleReads', () => {
    it('answers the next reads from the state before the latest write, then catches up', async () => {
      // Prepare
      const arn = (await iam.client.send(new CreatePolicyCommand({ PolicyName: 'p', PolicyDocument: READ })))
        .Policy?.Arn as string;
      await iam.client.send(
        new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: WRITE, SetAsDefault: true }),
      );
      iam.server.serveStaleReads(2);

      // Act
      const stalePolicy = await iam.client.send(new GetPolicyCommand({ PolicyArn: arn }));
      const staleVersion = await iam.client
        .send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v2' }))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      const fresh = await iam.client.send(new GetPolicyCommand({ PolicyArn: arn }));

      // Assess
      expect(stalePolicy.Policy?.DefaultVersionId).toBe('v1');
      expect(staleVersion).toBeInstanceOf(NoSuchEntityException);
      expect(fresh.Policy?.DefaultVersionId).toBe('v2');
      // Test hooks always show the state as it is.
      expect(iam.server.getPolicy(arn)?.defaultVersionId).toBe('v2');
    });

    it('makes what the latest write put look absent to the next read, while writes themselves are never stale', async () => {
      // Prepare
      await iam.client.send(new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: TRUST }));
      iam.server.serveStaleReads(1);

      // Act
      // This write succeeds although a stale read is pending, and becomes the latest write.
      await iam.client.send(
        new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'inline', PolicyDocument: READ }),
      );
      const stale = await iam.client
        .send(new GetRolePolicyCommand({ RoleName: 'app', PolicyName: 'inline' }))
        .then(
          () => undefined,
          (e: unknown) => e as IAMServiceException,
        );
      const fresh = await iam.client.send(
        new GetRolePolicyCommand({ RoleName: 'app', PolicyName: 'inline' }),
      );

      // Assess
      expect(stale?.name).toBe('NoSuchEntityException');
      expect(stale?.message).toBe('The role policy with name inline cannot be found.');
      expect(decodeURIComponent(fresh.PolicyDocument ?? '')).toBe(READ);
    });

    it('keeps the snapshot of the last successful write when a later write fails', async () => {
      // Prepare
      const arn = (await iam.client.send(new CreatePolicyCommand({ PolicyName: 'p', PolicyDocument: READ })))
        .Policy?.Arn as string;
      await iam.client.send(new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: TRUST }));
      await iam.client.send(new AttachRolePolicyCommand({ RoleName: 'app', PolicyArn: arn }));
      await iam.client
        .send(new AttachRolePolicyCommand({ RoleName: 'ghost', PolicyArn: arn }))
        .catch((e: unknown) => e);
      iam.server.serveStaleReads(1);

      // Act
      const stale = await iam.client.send(new ListAttachedRolePoliciesCommand({ RoleName: 'app' }));
      const fresh = await iam.client.send(new ListAttachedRolePoliciesCommand({ RoleName: 'app' }));

      // Assess
      expect(stale.AttachedPolicies).toEqual([]);
      expect(fresh.AttachedPolicies?.map((p) => p.PolicyArn)).toEqual([arn]);
    });

    it('is cleared by reset and refuses a bad count', async () => {
      // Prepare
      await iam.client.send(new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: TRUST }));
      iam.server.serveStaleReads(5);
      iam.server.reset();
      await iam.client.send(new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: TRUST }));

      // Act
      const role = await iam.client.send(new GetRoleCommand({ RoleName: 'app' }));

      // Assess
      expect(role.Role?.RoleName).toBe('app');
      expect(() => iam.server.serveStaleReads(-1)).toThrow('non-negative integer');
    });
  });

  describe('documentEncoding', () => {
    async function seed(): Promise<string> {
      await iam.client.send(new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: TRUST }));
      await iam.client.send(
        new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'inline', PolicyDocument: READ }),
      );
      return (await iam.client.send(new CreatePolicyCommand({ PolicyName: 'p', PolicyDocument: READ })))
        .Policy?.Arn as string;
    }

    async function documents(arn: string): Promise<string[]> {
      const version = await iam.client.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' }));
      const inline = await iam.client.send(
        new GetRolePolicyCommand({ RoleName: 'app', PolicyName: 'inline' }),
      );
      const role = await iam.client.send(new GetRoleCommand({ RoleName: 'app' }));
      const listed = await iam.client.send(new ListRolesCommand({}));
      const details = await iam.client.send(new GetAccountAuthorizationDetailsCommand({}));
      return [
        version.PolicyVersion?.Document,
        inline.PolicyDocument,
        role.Role?.AssumeRolePolicyDocument,
        listed.Roles?.[0]?.AssumeRolePolicyDocument,
        details.RoleDetailList?.[0]?.AssumeRolePolicyDocument,
        details.RoleDetailList?.[0]?.RolePolicyList?.[0]?.PolicyDocument,
        details.Policies?.[0]?.PolicyVersionList?.[0]?.Document,
      ].map((d) => d ?? '');
    }

    it('returns every document URL-encoded by default', async () => {
      // Prepare
      const arn = await seed();

      // Act
      const returned = await documents(arn);

      // Assess
      expect(returned.map((d) => decodeURIComponent(d))).toEqual([
        READ,
        READ,
        TRUST,
        TRUST,
        TRUST,
        READ,
        READ,
      ]);
      for (const document of returned) expect(document).not.toMatch(/[{}"\s&]/);
    });

    it('returns every document as sent in the raw mode, set at start or switched later', async () => {
      // Prepare
      const raw = await startIamServer({ documentEncoding: 'raw' });
      const rawClient = new IAMClient({
        region: 'us-east-1',
        endpoint: raw.endpoint,
        credentials: CREDENTIALS,
        maxAttempts: 1,
      });
      const arn = await seed();
      try {
        await rawClient.send(new CreatePolicyCommand({ PolicyName: 'p', PolicyDocument: READ }));

        // Act
        iam.server.setDocumentEncoding('raw');
        const switched = await documents(arn);
        const fromStart = await rawClient.send(
          new GetPolicyVersionCommand({
            PolicyArn: `arn:aws:iam::${raw.accountId}:policy/p`,
            VersionId: 'v1',
          }),
        );

        // Assess
        expect(switched).toEqual([READ, READ, TRUST, TRUST, TRUST, READ, READ]);
        expect(fromStart.PolicyVersion?.Document).toBe(READ);
        // CloudTrail's record is unaffected: it is not an API answer.
        expect(
          iam.server.events.find((e) => e.detail.eventName === 'CreateRole')?.detail.responseElements,
        ).toMatchObject({
          role: { assumeRolePolicyDocument: expect.stringMatching(/^%7B/) },
        });
      } finally {
        rawClient.destroy();
        await raw.close();
      }
    });

    it('refuses an unknown encoding', () => {
      // Act / Assess
      expect(() => iam.server.setDocumentEncoding('base64' as never)).toThrow(
        "documentEncoding must be 'url' or 'raw'",
      );
    });
  });
});
