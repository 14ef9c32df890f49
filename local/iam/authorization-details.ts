import { SHAPES } from './grammar';
import { boundaryXml, type OperationSpec, paginate, policyXml, tagsXml, versionXml } from './operation-kit';
import type { IamState, ManagedPolicyRecord, PrincipalRecord } from './state';
import type { XmlObject, XmlValue } from './xml';

/** The four lists GetAccountAuthorizationDetails answers with, in the model's (and IAM's) order. */
const LISTS = ['UserDetailList', 'GroupDetailList', 'RoleDetailList', 'Policies'] as const;
type ListName = (typeof LISTS)[number];

interface Entry {
  list: ListName;
  render: () => XmlObject;
}

function inlinePoliciesXml(principal: PrincipalRecord, document: (text: string) => string): XmlValue {
  return [...principal.inlinePolicies.keys()].sort().map((name) => ({
    PolicyName: name,
    PolicyDocument: document(principal.inlinePolicies.get(name) ?? ''),
  }));
}

function attachedXml(state: IamState, principal: PrincipalRecord): XmlValue {
  return state
    .listAttachedPolicies(principal.kind, principal.name)
    .map((policy) => ({ PolicyName: policy.name, PolicyArn: policy.arn }));
}

function policyDetailXml(
  state: IamState,
  policy: ManagedPolicyRecord,
  document: (text: string) => string,
): XmlObject {
  // GetPolicy's fields with the description, without tags (ManagedPolicyDetail has none), and the versions.
  return {
    ...policyXml(state, policy, true),
    Tags: undefined,
    PolicyVersionList: state.listPolicyVersions(policy.arn).map((v) => versionXml(policy, v, document)),
  };
}

/**
 * Which AWS managed policies the `AWSManagedPolicy` filter brings: only those in use in the account, not the
 * 1,000-odd AWS publishes. Source: cloudquery/cloudquery pull request #13322 (2023), whose author switched
 * away from this call because it "returns only attached AWS Managed Policies and all Customer Managed
 * Policies"; joshlarsen/aws-recon issue #21 reports the same ("in-use" policies come from this call, the rest
 * need ListPolicies). Neither says whether a policy used only as a permissions boundary counts as in use; the
 * stand-in counts it, since the account depends on it just the same.
 */
function awsManagedPolicyInUse(state: IamState, policy: ManagedPolicyRecord): boolean {
  return state.attachmentCount(policy.arn) > 0 || state.boundaryUsageCount(policy.arn) > 0;
}

/**
 * GetAccountAuthorizationDetails. The four lists page as one sequence (users, groups, roles, then policies), so
 * a page may end inside any list and the next one resumes there: a Marker loop or the SDK paginator sees each
 * entity exactly once. Filters select entity types; without a filter every type is returned.
 */
export const GET_ACCOUNT_AUTHORIZATION_DETAILS: OperationSpec = {
  readOnly: true,
  input: {
    Filter: { shape: SHAPES.entityListType },
    MaxItems: { shape: SHAPES.maxItemsType },
    Marker: { shape: SHAPES.markerType },
  },
  run: ({ input, state, document }) => {
    const filter = input.strings('Filter') ?? [];
    const wanted = (type: string): boolean => filter.length === 0 || filter.includes(type);
    const entries: Entry[] = [];
    if (wanted('User')) {
      for (const user of state.listPrincipals('user')) {
        entries.push({
          list: 'UserDetailList',
          render: () => ({
            Path: user.path,
            UserName: user.name,
            UserId: user.id,
            Arn: user.arn,
            CreateDate: user.createDate,
            UserPolicyList: inlinePoliciesXml(user, document),
            GroupList: state.groupsForUser(user.name).map((group) => group.name),
            AttachedManagedPolicies: attachedXml(state, user),
            PermissionsBoundary: boundaryXml(user),
            Tags: tagsXml(user.tags),
          }),
        });
      }
    }
    if (wanted('Group')) {
      for (const group of state.listPrincipals('group')) {
        entries.push({
          list: 'GroupDetailList',
          render: () => ({
            Path: group.path,
            GroupName: group.name,
            GroupId: group.id,
            Arn: group.arn,
            CreateDate: group.createDate,
            GroupPolicyList: inlinePoliciesXml(group, document),
            AttachedManagedPolicies: attachedXml(state, group),
          }),
        });
      }
    }
    if (wanted('Role')) {
      for (const role of state.listPrincipals('role')) {
        entries.push({
          list: 'RoleDetailList',
          render: () => ({
            Path: role.path,
            RoleName: role.name,
            RoleId: role.id,
            Arn: role.arn,
            CreateDate: role.createDate,
            AssumeRolePolicyDocument:
              role.assumeRolePolicyDocument === undefined
                ? undefined
                : document(role.assumeRolePolicyDocument),
            // Instance profiles are not modelled: no role is in one.
            InstanceProfileList: [],
            RolePolicyList: inlinePoliciesXml(role, document),
            AttachedManagedPolicies: attachedXml(state, role),
            PermissionsBoundary: boundaryXml(role),
            Tags: tagsXml(role.tags),
          }),
        });
      }
    }
    for (const policy of state.listPolicies()) {
      const included = policy.awsManaged
        ? wanted('AWSManagedPolicy') && awsManagedPolicyInUse(state, policy)
        : wanted('LocalManagedPolicy');
      if (included)
        entries.push({ list: 'Policies', render: () => policyDetailXml(state, policy, document) });
    }

    const page = paginate(entries, input);
    const lists: Record<ListName, XmlObject[]> = {
      UserDetailList: [],
      GroupDetailList: [],
      RoleDetailList: [],
      Policies: [],
    };
    for (const entry of page.items) lists[entry.list].push(entry.render());
    return {
      result: { ...lists, IsTruncated: page.isTruncated, Marker: page.marker },
      responseElements: null,
    };
  },
};
