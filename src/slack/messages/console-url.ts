import type { ChangeTarget, PrincipalType } from '../../domain/policy-change';
import { SLACK_LIMITS } from './limits';
import { cleanText } from './mrkdwn';

export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov';

// IAM is global: its console lives in the partition's home region.
const CONSOLE_HOME: Readonly<Record<Partition, string>> = {
  aws: 'https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#',
  'aws-cn': 'https://console.amazonaws.cn/iam/home?region=cn-north-1#',
  'aws-us-gov': 'https://console.amazonaws-us-gov.com/iam/home?region=us-gov-west-1#',
};

const PRINCIPAL_PAGES: Readonly<Record<PrincipalType, string>> = {
  role: 'roles',
  user: 'users',
  group: 'groups',
};

/** The partition an ARN belongs to, when it names one the console link knows. */
export function partitionOf(arn: string | undefined): Partition | undefined {
  const match = /^arn:(aws|aws-cn|aws-us-gov):/.exec(arn ?? '');
  return match ? (match[1] as Partition) : undefined;
}

function encode(part: string): string {
  // Lone surrogates would make encodeURIComponent throw; cleanText replaces them.
  return encodeURIComponent(cleanText(part));
}

/**
 * The AWS console page of what a change touched: the managed policy for a managed-policy change,
 * otherwise the principal's permissions page (where inline and attached policies are listed). The
 * partition comes from the target's policy ARN, else from `fallbackPartition`, else `aws`. A link longer
 * than Slack accepts on a button (3,000 characters, e.g. for an absurdly long name) falls back to the
 * console's list of policies, roles, users or groups.
 */
export function consoleUrl(target: ChangeTarget, fallbackPartition?: Partition): string {
  const policyArn =
    target.kind === 'managed-policy' || target.kind === 'attachment' ? target.policyArn : undefined;
  const home = CONSOLE_HOME[partitionOf(policyArn) ?? fallbackPartition ?? 'aws'];
  const principal = principalOf(target);
  const [list, detail] =
    principal === undefined
      ? ['policies', `policies/details/${encode(policyArn ?? '')}?section=permissions`]
      : [
          PRINCIPAL_PAGES[principal.type],
          `${PRINCIPAL_PAGES[principal.type]}/details/${encode(principal.name)}?section=permissions`,
        ];
  const url = `${home}/${detail}`;
  return url.length <= SLACK_LIMITS.buttonUrl ? url : `${home}/${list}`;
}

/** The principal whose page shows the change: the policy's own page for a managed-policy change. */
function principalOf(target: ChangeTarget): { type: PrincipalType; name: string } | undefined {
  switch (target.kind) {
    case 'managed-policy':
      return undefined;
    case 'inline-policy':
    case 'attachment':
    case 'permissions-boundary':
      return { type: target.principalType, name: target.principalName };
    case 'group-membership':
      return { type: 'group', name: target.groupName };
    case 'trust-policy':
      return { type: 'role', name: target.roleName };
  }
}
