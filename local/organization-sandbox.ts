/**
 * The sandbox's organization (issue 13): member accounts, each with its own IAM stand-in holding the
 * member stack's three roles (`policy-gate-member-quarantine`, `-restore`, `-read`), one IAM endpoint routing
 * every access key to its account and allowing each role's sessions exactly the actions the member template
 * gives that role (read from the template itself), the Organizations stand-in, and the STS rule each role's
 * trust policy states (only PolicyGate's central role, only with the stage's external id, only under that
 * role's session names). Each member account's IAM events reach the central workflow as the member stack's
 * forwarding rule and the central bus deliver them.
 *
 * The sandbox runs every function under one central role, so it cannot tell analyseChange from
 * restoreChange when they assume a role (in AWS each member role trusts only its function's role, which
 * tests/unit/member-template.test.ts checks); what it does enforce is that each function's calls fit the
 * member role it assumed, and the sweep's session name.
 */
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { buildMemberTemplate } from '../scripts/package-member';
import {
  MEMBER_ROLE_USES,
  type MemberRoleUse,
  memberRoleNameFor,
  roleSessionName,
} from '../src/services/iam-client-for-account';
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
/** The sweep's session name, the only one the read role accepts. */
const SWEEP_SESSION = roleSessionName('sweep');
/** The member template's resource id of each role. */
const TEMPLATE_ROLE: Record<MemberRoleUse, string> = {
  quarantine: 'QuarantineRole',
  restore: 'RestoreRole',
  read: 'ReadRole',
};

/** The member roles' names in the sandbox. */
export const MEMBER_ROLES: Readonly<Record<MemberRoleUse, string>> = Object.fromEntries(
  MEMBER_ROLE_USES.map((use) => [use, memberRoleNameFor(MEMBER_ROLE_NAME, use)]),
) as Record<MemberRoleUse, string>;

/** Each member role's allowed IAM actions, as the member template grants them. */
export function memberRoleActions(): Record<MemberRoleUse, ReadonlySet<string>> {
  const resources = buildMemberTemplate().Resources as Record<string, { Properties?: unknown }>;
  const actionsOf = (id: string): Set<string> => {
    const properties = resources[id]?.Properties as
      | { Policies?: Array<{ PolicyDocument: { Statement: Array<{ Effect: string; Action: unknown }> } }> }
      | undefined;
    if (!properties?.Policies) throw new Error(`the member template has no role ${id}`);
    return new Set(
      properties.Policies.flatMap((policy) =>
        policy.PolicyDocument.Statement.filter((statement) => statement.Effect === 'Allow').flatMap(
          (statement) => ([] as unknown[]).concat(statement.Action).map(String),
        ),
      ),
    );
  };
  return {
    quarantine: actionsOf(TEMPLATE_ROLE.quarantine),
    restore: actionsOf(TEMPLATE_ROLE.restore),
    read: actionsOf(TEMPLATE_ROLE.read),
  };
}

/**
 * The organization `npm start -- --organization` runs: the central (security) account and two member
 * accounts, each in its own OU, with the stage's settings everywhere.
 */
export const DEMO_ORGANIZATION: OrganizationOptions = {
  units: [
    { id: 'ou-loca-payments1', name: 'Payments' },
    { id: 'ou-loca-dataplat1', name: 'Data platform' },
  ],
  accounts: [
    { id: '111111111111', name: 'payments-prod', parentId: 'ou-loca-payments1' },
    { id: '222222222222', name: 'data-prod', parentId: 'ou-loca-dataplat1' },
  ],
};

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
  /** The name of the OU it is in (`Root` at the root). */
  readonly unitName: string;
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
  /** The member roles' trust policies: a denial reason, or `undefined`. */
  authorize(request: {
    roleArn: string;
    caller: Identity;
    externalId?: string;
    sessionName?: string;
  }): string | undefined;
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
  const allowed = memberRoleActions();
  const useOfRole = new Map(MEMBER_ROLE_USES.map((use) => [MEMBER_ROLES[use], use]));
  // Access key → what the member role it is a session of may do (keys of no member role are not limited).
  const sessionActions = new Map<string, { role: string; actions: ReadonlySet<string> }>();
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
    // The member stack's roles (created before the forwarding rule exists, so no event is forwarded).
    for (const use of MEMBER_ROLE_USES) {
      await developer.send(
        new CreateRoleCommand({
          RoleName: MEMBER_ROLES[use],
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: central.workflowRoleArn },
                Action: 'sts:AssumeRole',
                Condition: {
                  StringEquals: {
                    'sts:ExternalId': MEMBER_EXTERNAL_ID,
                    ...(use === 'read' && { 'sts:RoleSessionName': SWEEP_SESSION }),
                  },
                },
              },
            ],
          }),
        }),
      );
    }
    unsubscribes.push(iam.onEvent(forward));
    const unitName = options.units?.find((u) => u.id === account.parentId)?.name ?? 'Root';
    members[account.id] = { id: account.id, name: account.name, unitName, iam, developer };
  }
  const centralId = central.iam.accountId;
  const router = await startIamAccountRouter(
    [central.iam, ...Object.values(members).map((m) => m.iam)],
    centralId,
    (accessKeyId, action) => {
      const session = sessionActions.get(accessKeyId);
      if (!session || session.actions.has(action)) return undefined;
      return `User: ${session.role} is not authorized to perform: ${action} (the member role does not allow it)`;
    },
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
      const issuer = identity.sessionContext?.sessionIssuer?.arn ?? '';
      const use = useOfRole.get(issuer.slice(issuer.lastIndexOf('/') + 1));
      if (use && account !== centralId)
        sessionActions.set(accessKeyId, { role: issuer, actions: allowed[use] });
    },
    authorize({ roleArn, caller, externalId, sessionName }) {
      const member = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(roleArn);
      if (!member || !members[member[1] as string]) return undefined;
      const use = useOfRole.get(member[2] as string);
      // The member stack holds no other role a central function could assume.
      if (!use) return `account ${member[1]} has no member role ${member[2]}`;
      const issuer = caller.sessionContext?.sessionIssuer?.arn ?? caller.arn;
      if (issuer !== central.workflowRoleArn) return 'the member role trusts only the central workflow role';
      if (externalId !== MEMBER_EXTERNAL_ID) return 'the external id does not match';
      // The member template's conditions: the sweep's name for the read role, never it for the others.
      if (use === 'read' ? sessionName !== SWEEP_SESSION : sessionName === SWEEP_SESSION) {
        return `the ${use} role does not accept the session name ${sessionName}`;
      }
      if (!sessionName?.startsWith('policy-gate-')) return 'session names must start with policy-gate-';
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
