/**
 * The sandbox's organization (issue 13): member accounts, each with its own IAM stand-in holding the
 * member stack's `policy-gate-member` role, one IAM endpoint routing every access key to its account, the
 * Organizations stand-in, and the STS rule the member role's trust policy states (only PolicyGate's central
 * workflow role, and only with the stage's external id). Each member account's IAM events reach the central
 * workflow as the member stack's forwarding rule and the central bus deliver them.
 */
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import type { CloudTrailEvent, IamServer, Identity } from './iam';
import { startIamServer } from './iam';
import { type IamAccountRouter, startIamAccountRouter } from './iam/account-router';
import {
  type LocalOrganizationsServer,
  type OrganizationUnitSpec,
  startOrganizationsServer,
} from './organizations';

export const ORGANIZATION_ID = 'o-localorg0001';
export const ROOT_ID = 'r-loca';
export const MEMBER_ROLE_NAME = 'policy-gate-member';
export const MEMBER_EXTERNAL_ID = 'policy-gate-local-member-external-id';

/** A member account of the sandbox's organization. */
export interface LocalAccountSpec {
  readonly id: string;
  readonly name: string;
  /** The OU (`ou-…`) it is in; default the root. */
  readonly parentId?: string;
}

export interface OrganizationOptions {
  readonly accounts: readonly LocalAccountSpec[];
  readonly units?: readonly OrganizationUnitSpec[];
  /** ACCOUNT_SETTINGS (JSON text); default none. */
  readonly accountSettings?: string;
}

export interface MemberAccount {
  readonly id: string;
  readonly name: string;
  readonly iam: IamServer;
  /** An IAM client acting as the account's developer (IAM user `dev`), whose changes PolicyGate gates. */
  readonly developer: IAMClient;
}

export interface LocalOrganization {
  readonly organizations: LocalOrganizationsServer;
  readonly router: IamAccountRouter;
  readonly members: Readonly<Record<string, MemberAccount>>;
  /** The environment the central functions get. */
  readonly env: Readonly<Record<string, string>>;
  /** Where an issued STS session acts: its key is given to its account's IAM. */
  onSession(accessKeyId: string, identity: Identity): void;
  /** The member role's trust policy: a denial reason, or `undefined`. */
  authorize(request: { roleArn: string; caller: Identity; externalId?: string }): string | undefined;
  close(): Promise<void>;
}

/** The developer's key in a member account. */
export function memberDeveloperKey(accountId: string): string {
  return `AKIDDEV${accountId}`;
}

/** Starts the member accounts next to the central account's IAM (`central`). */
export async function startOrganization(
  options: OrganizationOptions,
  central: { readonly iam: IamServer; readonly name: string; readonly workflowRoleArn: string },
  forward: (event: CloudTrailEvent) => void,
): Promise<LocalOrganization> {
  const members: Record<string, MemberAccount> = {};
  const unsubscribes: Array<() => void> = [];
  for (const account of options.accounts) {
    const key = memberDeveloperKey(account.id);
    const iam = await startIamServer({
      accountId: account.id,
      identities: {
        [key]: { type: 'IAMUser', arn: `arn:aws:iam::${account.id}:user/dev`, userName: 'dev' },
      },
    });
    const developer = new IAMClient({
      region: 'us-east-1',
      endpoint: iam.endpoint,
      credentials: { accessKeyId: key, secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    // The member stack's role (created before the forwarding rule exists, so no event is forwarded).
    await developer.send(
      new CreateRoleCommand({
        RoleName: MEMBER_ROLE_NAME,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: central.workflowRoleArn },
              Action: 'sts:AssumeRole',
              Condition: { StringEquals: { 'sts:ExternalId': MEMBER_EXTERNAL_ID } },
            },
          ],
        }),
      }),
    );
    unsubscribes.push(iam.onEvent(forward));
    members[account.id] = { id: account.id, name: account.name, iam, developer };
  }
  const centralId = central.iam.accountId;
  const router = await startIamAccountRouter(
    [central.iam, ...Object.values(members).map((m) => m.iam)],
    centralId,
  );
  const organizations = await startOrganizationsServer({
    organizationId: ORGANIZATION_ID,
    managementAccountId: centralId,
    rootId: ROOT_ID,
    units: options.units ?? [],
    accounts: [
      { id: centralId, name: central.name },
      ...options.accounts.map((a) => ({
        id: a.id,
        name: a.name,
        ...(a.parentId && { parentId: a.parentId }),
      })),
    ],
  });
  return {
    organizations,
    router,
    members,
    env: {
      AWS_ENDPOINT_URL_IAM: router.endpoint,
      AWS_ENDPOINT_URL_ORGANIZATIONS: organizations.endpoint,
      ORGANIZATION_ID,
      MEMBER_ROLE_NAME,
      MEMBER_ROLE_EXTERNAL_ID: MEMBER_EXTERNAL_ID,
      ...(options.accountSettings !== undefined && { ACCOUNT_SETTINGS: options.accountSettings }),
    },
    onSession(accessKeyId, identity) {
      const account = identity.accountId ?? centralId;
      const target = account === centralId ? central.iam : members[account]?.iam;
      if (!target) return;
      router.assign(accessKeyId, account);
      target.setIdentity(accessKeyId, identity);
    },
    authorize({ roleArn, caller, externalId }) {
      const member = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(roleArn);
      if (!member || member[2] !== MEMBER_ROLE_NAME || !members[member[1] as string]) return undefined;
      const issuer = caller.sessionContext?.sessionIssuer?.arn ?? caller.arn;
      if (issuer !== central.workflowRoleArn) return 'the member role trusts only the central workflow role';
      if (externalId !== MEMBER_EXTERNAL_ID) return 'the external id does not match';
      return undefined;
    },
    async close() {
      for (const unsubscribe of unsubscribes) unsubscribe();
      await Promise.all([
        router.close(),
        organizations.close(),
        ...Object.values(members).map(async (m) => {
          m.developer.destroy();
          await m.iam.close();
        }),
      ]);
    },
  };
}
