/**
 * IAM's documented grammars for the names, paths and ARNs PolicyGate reads from CloudTrail, so the
 * normaliser can tell a value IAM would have accepted from one it could not have.
 *
 * Sources (each rule below names its own):
 * - the IAM API model (`iam-2010-05-08`, as published in the AWS SDKs' service definitions and the IAM API
 *   Reference): the shapes `roleNameType`, `userNameType`, `existingUserNameType`, `groupNameType`,
 *   `policyNameType`, `pathType`, `policyPathType`, `arnType` and `policyVersionIdType`;
 * - the IAM User Guide, "IAM identifiers": `arn:partition:iam::account:policy/path/name`, with `aws` as the
 *   account of AWS managed policies;
 * - the AWS SDK's partition list (`partitions.json` in `@aws-sdk/core`'s endpoint rules).
 *
 * Where the model's regex and its prose disagree, the wider of the two is accepted: the normaliser only
 * reports what it cannot read, so accepting slightly more than IAM does costs nothing, while rejecting what
 * IAM accepts would let a real change walk around the gate.
 */

/** The name shapes of the IAM API model: all are `[\w+=,.@-]+`, they differ only in length. */
export type IamNameShape =
  | 'roleNameType'
  | 'userNameType'
  | 'existingUserNameType'
  | 'groupNameType'
  | 'policyNameType';

/** Maximum lengths from the IAM API model (the minimum is 1 for all). */
export const IAM_NAME_MAX_LENGTH: Readonly<Record<IamNameShape, number>> = Object.freeze({
  roleNameType: 64,
  // CreateUser, AttachUserPolicy and Put/DeleteUserPermissionsBoundary.
  userNameType: 64,
  // PutUserPolicy, AddUserToGroup and most calls on an existing user.
  existingUserNameType: 128,
  groupNameType: 128,
  policyNameType: 128,
});

// `\w` is ASCII-only both in the Java regexes IAM documents and in JavaScript without the `u`/`v` flags.
const NAME = /^[\w+=,.@-]+$/;

/** Whether `value` is a name IAM accepts for the given shape: 1 to N of `[\w+=,.@-]`. */
export function isIamName(shape: IamNameShape, value: string): boolean {
  return value.length >= 1 && value.length <= IAM_NAME_MAX_LENGTH[shape] && NAME.test(value);
}

/** A human description of a name shape, for problem messages. */
export function describeNameShape(shape: IamNameShape): string {
  return `1 to ${IAM_NAME_MAX_LENGTH[shape]} of A-Z a-z 0-9 _+=,.@-`;
}

/** `pathType` / `policyPathType` maximum length. */
export const IAM_PATH_MAX_LENGTH = 512;

/**
 * `pathType`: `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`, 1 to 512 characters. Its prose (and that of
 * CreatePolicy's `policyPathType`) says "any ASCII character from ! (\u0021) through DEL (\u007F)", so DEL is
 * accepted too. `policyPathType`'s own regex is narrower (`((/[A-Za-z0-9.,+@=_-]+)*)/`) and its prose forbids
 * `*`; both are contained in this rule.
 */
const PATH = /^(?:\/|\/[\x21-\x7f]+\/)$/;

/** Whether `value` is an IAM path: `/`, or `/…/` of printable ASCII, at most 512 characters. */
export function isIamPath(value: string): boolean {
  return value.length <= IAM_PATH_MAX_LENGTH && PATH.test(value);
}

/** `policyVersionIdType`: `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`. */
const VERSION_ID = /^v[1-9][0-9]*(?:\.[A-Za-z0-9-]*)?$/;

/** Whether `value` is a managed-policy version id such as `v3`. */
export function isPolicyVersionId(value: string): boolean {
  return VERSION_ID.test(value);
}

/** `arnType`: at least 20 characters, no pattern. */
export const ARN_MIN_LENGTH = 20;
/** `arnType`: at most 2048 characters. */
export const ARN_MAX_LENGTH = 2048;

/** The partitions of the AWS SDK's partition list. */
export const AWS_PARTITIONS = Object.freeze([
  'aws',
  'aws-cn',
  'aws-us-gov',
  'aws-iso',
  'aws-iso-b',
  'aws-iso-e',
  'aws-iso-f',
  'aws-eusc',
] as const);

export type AwsPartition = (typeof AWS_PARTITIONS)[number];

/** Whether `value` is one of {@link AWS_PARTITIONS}. */
export function isAwsPartition(value: string): value is AwsPartition {
  return (AWS_PARTITIONS as readonly string[]).includes(value);
}

// The `regionRegex` of each partition in the SDK's list; `aws` last, as its pattern is the loosest.
const REGION_PARTITIONS: ReadonlyArray<readonly [RegExp, AwsPartition]> = [
  [/^cn-\w+-\d+$/, 'aws-cn'],
  [/^us-gov-\w+-\d+$/, 'aws-us-gov'],
  [/^us-iso-\w+-\d+$/, 'aws-iso'],
  [/^us-isob-\w+-\d+$/, 'aws-iso-b'],
  [/^eu-isoe-\w+-\d+$/, 'aws-iso-e'],
  [/^us-isof-\w+-\d+$/, 'aws-iso-f'],
  [/^eusc-de-\w+-\d+$/, 'aws-eusc'],
  [/^(?:us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/, 'aws'],
];

/** The partition a region belongs to, per the SDK's partition list; undefined for an unknown region. */
export function partitionOfRegion(region: string): AwsPartition | undefined {
  return REGION_PARTITIONS.find(([pattern]) => pattern.test(region))?.[1];
}

/** The partition named by an ARN (`arn:aws-cn:…` → `aws-cn`), when it is one of {@link AWS_PARTITIONS}. */
export function partitionOfArn(arn: string): AwsPartition | undefined {
  const partition = /^arn:([^:]*):/.exec(arn)?.[1];
  return partition !== undefined && isAwsPartition(partition) ? partition : undefined;
}

const ACCOUNT_ID = /^\d{12}$/;

/** Whether `value` is a 12-digit AWS account ID. */
export function isAccountId(value: string): boolean {
  return ACCOUNT_ID.test(value);
}

/** The parts of a managed-policy ARN `arn:<partition>:iam::<account>:policy<path><name>`. */
export interface PolicyArnParts {
  partition: string;
  /** 12 digits, or `aws` for an AWS managed policy. */
  account: string;
  path: string;
  policyName: string;
}

/**
 * The policy name an ARN ends with: the part after its last `/` (paths may hold `/` and `:`, names cannot),
 * or undefined when there is no `/` or nothing after it.
 */
export function policyNameOfArn(arn: string): string | undefined {
  const slash = arn.lastIndexOf('/');
  return slash < 0 || slash === arn.length - 1 ? undefined : arn.slice(slash + 1);
}

/**
 * Reads a managed-policy ARN against IAM's grammar. Returns its parts, or what is wrong with it in plain
 * words (never quoting the value: callers add it, shortened).
 */
export function parsePolicyArn(
  arn: string,
): { ok: true; parts: PolicyArnParts } | { ok: false; reason: string } {
  if (arn.length < ARN_MIN_LENGTH || arn.length > ARN_MAX_LENGTH) {
    return { ok: false, reason: `an ARN has ${ARN_MIN_LENGTH} to ${ARN_MAX_LENGTH} characters` };
  }
  // The prefix is split on its first five colons only: the path after `policy` may itself contain colons.
  const prefix = /^arn:([^:]*):([^:]*):([^:]*):([^:]*):/.exec(arn);
  if (prefix === null) return { ok: false, reason: 'not an ARN' };
  const [whole, partition = '', service = '', region = '', account = ''] = prefix;
  const resource = arn.slice(whole.length);
  if (service !== 'iam' || region !== '' || !resource.startsWith('policy/')) {
    return { ok: false, reason: 'not an IAM policy ARN' };
  }
  if (!isAwsPartition(partition)) return { ok: false, reason: 'unknown partition' };
  if (account !== 'aws' && !isAccountId(account)) {
    return { ok: false, reason: 'the account is neither 12 digits nor "aws"' };
  }
  const slash = resource.lastIndexOf('/');
  const path = resource.slice('policy'.length, slash + 1);
  const policyName = resource.slice(slash + 1);
  if (!isIamPath(path)) return { ok: false, reason: 'the path is not an IAM path' };
  if (!isIamName('policyNameType', policyName)) return { ok: false, reason: 'the policy name is not valid' };
  return { ok: true, parts: { partition, account, path, policyName } };
}

/** The ARN IAM gives a customer managed policy: `arn:<partition>:iam::<account>:policy<path><name>`. */
export function managedPolicyArn(
  partition: string,
  account: string,
  path: string,
  policyName: string,
): string {
  return `arn:${partition}:iam::${account}:policy${path}${policyName}`;
}
