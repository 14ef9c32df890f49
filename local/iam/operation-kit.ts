import { formatResponseDate, type Identity } from './cloudtrail';
import { IamError } from './errors';
import type { Input, InputSpec } from './grammar';
import type {
  IamState,
  ManagedPolicyRecord,
  PolicyVersionRecord,
  PrincipalKind,
  PrincipalRecord,
  Tag,
} from './state';
import type { XmlObject, XmlValue } from './xml';

/** What an operation needs: its validated input, the account state, who is calling and how documents go out. */
export interface OperationContext {
  input: Input;
  state: IamState;
  caller: Identity;
  /** Renders a stored document for a response: URL-encoded as IAM does, or as sent in the raw mode. */
  document: (text: string) => string;
}

export interface OperationOutcome {
  /** Body of `<ActionResult>`; absent for operations IAM answers with metadata only. */
  result?: XmlObject;
  /** CloudTrail `responseElements`; `null` when IAM records none. */
  responseElements: Record<string, unknown> | null;
}

export interface OperationSpec {
  readOnly: boolean;
  /** The request grammar, checked by the server before `run`. */
  input: InputSpec;
  run(context: OperationContext): OperationOutcome;
}

// ---- rendering --------------------------------------------------------------------------------------------

export const NAME_ELEMENT: Readonly<Record<PrincipalKind, string>> = {
  role: 'RoleName',
  user: 'UserName',
  group: 'GroupName',
};
export const ID_ELEMENT: Readonly<Record<PrincipalKind, string>> = {
  role: 'RoleId',
  user: 'UserId',
  group: 'GroupId',
};

/** The only value IAM's model allows for `PermissionsBoundaryType`. */
export const BOUNDARY_TYPE = 'PermissionsBoundaryPolicy';

export function tagsXml(tags: readonly Tag[]): XmlValue {
  return tags.length === 0 ? undefined : tags.map((tag) => ({ Key: tag.key, Value: tag.value }));
}

export function boundaryXml(principal: PrincipalRecord): XmlValue {
  return principal.permissionsBoundary === undefined
    ? undefined
    : { PermissionsBoundaryType: BOUNDARY_TYPE, PermissionsBoundaryArn: principal.permissionsBoundary };
}

export function policyXml(state: IamState, policy: ManagedPolicyRecord, withDescription: boolean): XmlObject {
  return {
    PolicyName: policy.name,
    PolicyId: policy.policyId,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.defaultVersionId,
    AttachmentCount: state.attachmentCount(policy.arn),
    PermissionsBoundaryUsageCount: state.boundaryUsageCount(policy.arn),
    IsAttachable: true,
    Description: withDescription ? policy.description : undefined,
    CreateDate: policy.createDate,
    UpdateDate: policy.updateDate,
    Tags: withDescription ? tagsXml(policy.tags) : undefined,
  };
}

export function versionXml(
  policy: ManagedPolicyRecord,
  version: PolicyVersionRecord,
  document: ((text: string) => string) | undefined,
): XmlObject {
  return {
    Document: document === undefined ? undefined : document(version.document),
    VersionId: version.versionId,
    IsDefaultVersion: version.versionId === policy.defaultVersionId,
    CreateDate: version.createDate,
  };
}

/**
 * What IAM shows of a principal: `get` for GetRole/GetUser (boundary and tags included), `list` for the List
 * calls and CreateRole/CreateUser, which leave out the boundary, tags and (for CreateRole) MaxSessionDuration.
 */
export function principalXml(
  principal: PrincipalRecord,
  view: 'get' | 'list' | 'create',
  document: (text: string) => string,
): XmlObject {
  const full = view === 'get';
  return {
    Path: principal.path,
    [NAME_ELEMENT[principal.kind]]: principal.name,
    [ID_ELEMENT[principal.kind]]: principal.id,
    Arn: principal.arn,
    CreateDate: principal.createDate,
    AssumeRolePolicyDocument:
      principal.assumeRolePolicyDocument === undefined
        ? undefined
        : document(principal.assumeRolePolicyDocument),
    Description: principal.description,
    MaxSessionDuration: view === 'create' ? undefined : principal.maxSessionDuration,
    PermissionsBoundary: full ? boundaryXml(principal) : undefined,
    Tags: full ? tagsXml(principal.tags) : undefined,
  };
}

/**
 * CloudTrail's `responseElements` for CreateRole/CreateUser/CreateGroup. CloudTrail keeps IAM's URL-encoded
 * trust policy whatever the stand-in's document mode, because it is CloudTrail's record, not an API answer.
 */
export function principalResponseElements(
  principal: PrincipalRecord,
  encode: (text: string) => string,
): Record<string, unknown> {
  const lower = principal.kind;
  return {
    [lower]: {
      path: principal.path,
      [`${lower}Name`]: principal.name,
      [`${lower}Id`]: principal.id,
      arn: principal.arn,
      createDate: formatResponseDate(principal.createDate),
      ...(principal.assumeRolePolicyDocument === undefined
        ? {}
        : { assumeRolePolicyDocument: encode(principal.assumeRolePolicyDocument) }),
      ...(principal.permissionsBoundary === undefined
        ? {}
        : {
            permissionsBoundary: {
              permissionsBoundaryType: BOUNDARY_TYPE,
              permissionsBoundaryArn: principal.permissionsBoundary,
            },
          }),
    },
  };
}

// ---- pagination -------------------------------------------------------------------------------------------

export interface Page<T> {
  items: T[];
  isTruncated: boolean;
  marker: string | undefined;
}

/**
 * IAM-style `MaxItems`/`Marker` paging over one flat sequence; the marker is opaque to callers (the offset of
 * the next item). Calls that return several lists page over their concatenation.
 */
export function paginate<T>(items: readonly T[], input: Input): Page<T> {
  const maxItems = input.integer('MaxItems') ?? 100;
  const marker = input.optionalString('Marker');
  let start = 0;
  if (marker !== undefined) {
    const decoded = /^offset:(\d+)$/.exec(Buffer.from(marker, 'base64url').toString('utf8'));
    if (decoded === null) throw new IamError('ValidationError', 'Invalid Marker.');
    start = Number(decoded[1]);
  }
  const end = start + maxItems;
  const isTruncated = end < items.length;
  return {
    items: items.slice(start, end),
    isTruncated,
    marker: isTruncated ? Buffer.from(`offset:${end}`, 'utf8').toString('base64url') : undefined,
  };
}

export function pageXml<T>(element: string, page: Page<T>, render: (item: T) => XmlValue): XmlObject {
  return { [element]: page.items.map(render), IsTruncated: page.isTruncated, Marker: page.marker };
}

export function callerArn(caller: Identity): string {
  return caller.arn ?? `arn:aws:iam::${caller.accountId ?? 'unknown'}:unknown`;
}
