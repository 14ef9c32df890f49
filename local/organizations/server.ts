import type http from 'node:http';
import { listenOnLoopback, readSignedRequest, send } from '../http-util';

/**
 * Local stand-in for AWS Organizations' read calls PolicyGate makes, speaking its JSON 1.1 protocol
 * (`X-Amz-Target: AWSOrganizationsV20161128.<Operation>`, `application/x-amz-json-1.1`), reached with
 * `AWS_ENDPOINT_URL_ORGANIZATIONS`: `ListAccounts` (paged, `MaxResults` 1 to 20), `DescribeAccount`,
 * `ListParents`, `DescribeOrganizationalUnit` and `DescribeOrganization`. The organization is given at start
 * and changed by the test hooks (an account suspended, moved, removed). Its parsing is its own: ids are checked
 * against Organizations' documented grammars, unknown members of a request are refused as the service does.
 */

const TARGET_PREFIX = 'AWSOrganizationsV20161128.';
const JSON_TYPE = 'application/x-amz-json-1.1';
const MAX_REQUEST_BYTES = 64 * 1024;
const ACCOUNT_ID = /^\d{12}$/;
const UNIT_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
const ROOT_ID = /^r-[0-9a-z]{4,32}$/;

export type AccountStatus = 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE';

export interface OrganizationAccountSpec {
  readonly id: string;
  readonly name: string;
  /** The OU (`ou-…`) or root (`r-…`) the account is in; default the root. */
  readonly parentId?: string;
  readonly status?: AccountStatus;
  readonly email?: string;
}

export interface OrganizationUnitSpec {
  readonly id: string;
  readonly name: string;
  /** Default the root. */
  readonly parentId?: string;
}

export interface OrganizationsServerOptions {
  readonly organizationId: string;
  readonly managementAccountId: string;
  readonly rootId: string;
  readonly units?: readonly OrganizationUnitSpec[];
  readonly accounts: readonly OrganizationAccountSpec[];
}

export interface LocalOrganizationsServer {
  readonly endpoint: string;
  /** Every call, in order (operation names), for tests that count reads. */
  readonly calls: readonly string[];
  /** Adds or replaces an account (e.g. suspends one, or moves it to another OU). */
  putAccount(account: OrganizationAccountSpec): void;
  /** Removes an account from the organization. */
  removeAccount(accountId: string): void;
  /** Answers the next `count` calls with AccessDeniedException (a lost delegation, a throttled API). */
  failNext(count: number): void;
  close(): Promise<void>;
}

class OrganizationsFault {
  constructor(
    readonly type: string,
    readonly message: string,
    readonly status = 400,
  ) {}
}

interface Request {
  readonly [key: string]: unknown;
}

function members(request: Request, allowed: readonly string[]): void {
  for (const key of Object.keys(request)) {
    if (!allowed.includes(key)) {
      throw new OrganizationsFault('SerializationException', `Unknown member ${key}`);
    }
  }
}

function requiredId(request: Request, key: string, pattern: RegExp): string {
  const value = request[key];
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new OrganizationsFault(
      'InvalidInputException',
      `You provided a value that does not match the required pattern for ${key}.`,
    );
  }
  return value;
}

/** Starts the stand-in on 127.0.0.1. */
export async function startOrganizationsServer(
  options: OrganizationsServerOptions,
): Promise<LocalOrganizationsServer> {
  if (!ROOT_ID.test(options.rootId)) throw new Error(`rootId must be r-…, got ${options.rootId}`);
  const accounts = new Map<string, OrganizationAccountSpec>();
  const units = new Map<string, OrganizationUnitSpec>();
  for (const unit of options.units ?? []) {
    if (!UNIT_ID.test(unit.id)) throw new Error(`unit id must be ou-…, got ${unit.id}`);
    units.set(unit.id, unit);
  }
  const putAccount = (account: OrganizationAccountSpec): void => {
    if (!ACCOUNT_ID.test(account.id)) throw new Error(`account id must be 12 digits, got ${account.id}`);
    accounts.set(account.id, account);
  };
  for (const account of options.accounts) putAccount(account);
  const calls: string[] = [];
  const partition = 'aws';
  const orgArn = `arn:${partition}:organizations::${options.managementAccountId}:organization/${options.organizationId}`;
  const accountOf = (spec: OrganizationAccountSpec) => ({
    Id: spec.id,
    Arn: `arn:${partition}:organizations::${options.managementAccountId}:account/${options.organizationId}/${spec.id}`,
    Email: spec.email ?? `aws+${spec.id}@example.com`,
    Name: spec.name,
    Status: spec.status ?? 'ACTIVE',
    JoinedMethod: spec.id === options.managementAccountId ? 'CREATED' : 'INVITED',
    JoinedTimestamp: 1_700_000_000,
  });
  const parentOf = (childId: string): { Id: string; Type: 'ROOT' | 'ORGANIZATIONAL_UNIT' } => {
    const parentId =
      (ACCOUNT_ID.test(childId) ? accounts.get(childId)?.parentId : units.get(childId)?.parentId) ??
      options.rootId;
    return { Id: parentId, Type: parentId === options.rootId ? 'ROOT' : 'ORGANIZATIONAL_UNIT' };
  };

  const operations: Record<string, (request: Request) => unknown> = {
    ListAccounts(request) {
      members(request, ['NextToken', 'MaxResults']);
      const max = request.MaxResults ?? 20;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 20) {
        throw new OrganizationsFault('InvalidInputException', 'MaxResults must be from 1 to 20.');
      }
      const token = request.NextToken;
      const start = token === undefined ? 0 : Number.parseInt(String(token).replace(/^page-/, ''), 10);
      if (
        !Number.isInteger(start) ||
        start < 0 ||
        (token !== undefined && !/^page-\d+$/.test(String(token)))
      ) {
        throw new OrganizationsFault('InvalidInputException', 'The NextToken is not valid.');
      }
      const all = [...accounts.values()].sort((a, b) => a.id.localeCompare(b.id));
      const page = all.slice(start, start + max).map(accountOf);
      return {
        Accounts: page,
        ...(start + max < all.length && { NextToken: `page-${start + max}` }),
      };
    },
    DescribeAccount(request) {
      members(request, ['AccountId']);
      const id = requiredId(request, 'AccountId', ACCOUNT_ID);
      const spec = accounts.get(id);
      if (!spec) {
        throw new OrganizationsFault(
          'AccountNotFoundException',
          "You specified an account that doesn't exist.",
        );
      }
      return { Account: accountOf(spec) };
    },
    ListParents(request) {
      members(request, ['ChildId', 'NextToken', 'MaxResults']);
      const id = requiredId(request, 'ChildId', new RegExp(`${ACCOUNT_ID.source}|${UNIT_ID.source}`));
      const known = ACCOUNT_ID.test(id) ? accounts.has(id) : units.has(id);
      if (!known) {
        throw new OrganizationsFault(
          'ChildNotFoundException',
          "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.",
        );
      }
      return { Parents: [parentOf(id)] };
    },
    DescribeOrganizationalUnit(request) {
      members(request, ['OrganizationalUnitId']);
      const id = requiredId(request, 'OrganizationalUnitId', UNIT_ID);
      const unit = units.get(id);
      if (!unit) {
        throw new OrganizationsFault(
          'OrganizationalUnitNotFoundException',
          "We can't find an OU with the OrganizationalUnitId that you specified.",
        );
      }
      return {
        OrganizationalUnit: {
          Id: unit.id,
          Arn: `arn:${partition}:organizations::${options.managementAccountId}:ou/${options.organizationId}/${unit.id}`,
          Name: unit.name,
        },
      };
    },
    DescribeOrganization(request) {
      members(request, []);
      return {
        Organization: {
          Id: options.organizationId,
          Arn: orgArn,
          FeatureSet: 'ALL',
          MasterAccountArn: accountOf(
            accounts.get(options.managementAccountId) ?? {
              id: options.managementAccountId,
              name: 'management',
            },
          ).Arn,
          MasterAccountId: options.managementAccountId,
          MasterAccountEmail: `aws+${options.managementAccountId}@example.com`,
        },
      };
    },
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    try {
      const body = await readSignedRequest(req, MAX_REQUEST_BYTES, (problem) =>
        problem === 'too-large'
          ? new OrganizationsFault('SerializationException', 'Request too large', 413)
          : new OrganizationsFault(
              problem === 'missing-auth'
                ? 'MissingAuthenticationTokenException'
                : 'IncompleteSignatureException',
              'Missing or incomplete authentication',
            ),
      );
      const target = String(req.headers['x-amz-target'] ?? '');
      const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
      const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
      if (req.method !== 'POST' || !operation) {
        throw new OrganizationsFault('UnknownOperationException', `Unknown operation ${target}`);
      }
      let request: unknown;
      try {
        request = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch {
        throw new OrganizationsFault('SerializationException', 'Malformed JSON');
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) {
        throw new OrganizationsFault('SerializationException', 'Expected a JSON object');
      }
      calls.push(name);
      if (failures > 0) {
        failures -= 1;
        throw new OrganizationsFault(
          'AccessDeniedException',
          'You don’t have permissions to access this resource.',
        );
      }
      send(res, 200, JSON_TYPE, JSON.stringify(operation(request as Request)));
    } catch (error) {
      if (!(error instanceof OrganizationsFault)) throw error;
      send(res, error.status, JSON_TYPE, JSON.stringify({ __type: error.type, message: error.message }));
    }
  };

  let failures = 0;
  const started = await listenOnLoopback(handle);
  return {
    endpoint: started.endpoint,
    calls,
    putAccount,
    removeAccount: (accountId) => {
      accounts.delete(accountId);
    },
    failNext: (count) => {
      failures = count;
    },
    close: () => started.close(),
  };
}
