import {
  DescribeAccountCommand,
  DescribeOrganizationalUnitCommand,
  ListAccountsCommand,
  ListParentsCommand,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import type {
  AccountLabel,
  OrganizationAccount,
  OrganizationDirectory,
  OrganizationParent,
} from '../services/organization-directory';
import { mapAwsError } from './aws-error';

export interface OrganizationsDirectoryOptions {
  /** How long the account list is trusted (a removed account is refused within it); default 60 s. */
  readonly accountsTtlSeconds?: number;
  /** How long an account's name and parents are trusted; default 300 s. */
  readonly structureTtlSeconds?: number;
  readonly now?: () => number;
}

/** Organizations nests OUs at most five deep under the root. */
const MAX_DEPTH = 6;
/** ListAccounts pages hold at most 20 accounts; a 10,000-account organization is 500 pages. */
const MAX_PAGES = 1000;

interface Cached<T> {
  value: Promise<T>;
  expires: number;
}

/**
 * {@link OrganizationDirectory} over AWS Organizations: `ListAccounts` (ACTIVE ones only), `DescribeAccount`,
 * `ListParents` up to the root and `DescribeOrganizationalUnit`, each cached. A failed read is not cached, so
 * the next call tries again; while it fails, nothing is admitted (the caller refuses).
 */
export class OrganizationsDirectory implements OrganizationDirectory {
  private accounts?: Cached<readonly OrganizationAccount[]>;
  private readonly labels = new Map<string, Cached<AccountLabel>>();
  private readonly units = new Map<string, Cached<string | undefined>>();
  private readonly now: () => number;

  constructor(
    private readonly client: OrganizationsClient,
    private readonly options: OrganizationsDirectoryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  activeAccounts(options: { readonly fresh?: boolean } = {}): Promise<readonly OrganizationAccount[]> {
    if (!options.fresh && this.accounts && this.accounts.expires > this.now()) return this.accounts.value;
    const value = this.listAccounts();
    const entry = { value, expires: this.now() + (this.options.accountsTtlSeconds ?? 60) * 1000 };
    this.accounts = entry;
    value.catch(() => {
      if (this.accounts === entry) this.accounts = undefined;
    });
    return value;
  }

  describeAccount(accountId: string): Promise<AccountLabel> {
    return this.cached(this.labels, accountId, () => this.readLabel(accountId));
  }

  private cached<T>(map: Map<string, Cached<T>>, key: string, read: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    if (hit && hit.expires > this.now()) return hit.value;
    const value = read();
    const entry = { value, expires: this.now() + (this.options.structureTtlSeconds ?? 300) * 1000 };
    // Bounded: an organization's accounts and OUs, and never more than a few thousand entries.
    if (map.size >= 10_000) map.clear();
    map.set(key, entry);
    value.catch(() => {
      if (map.get(key) === entry) map.delete(key);
    });
    return value;
  }

  private async listAccounts(): Promise<readonly OrganizationAccount[]> {
    const accounts: OrganizationAccount[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = await this.send('ListAccounts', () =>
        this.client.send(new ListAccountsCommand({ ...(token && { NextToken: token }) })),
      );
      for (const account of answer.Accounts ?? []) {
        if (account.Id && account.Status === 'ACTIVE') {
          accounts.push({ id: account.Id, ...(account.Name && { name: account.Name }) });
        }
      }
      token = answer.NextToken;
      if (!token) return accounts;
    }
    throw mapAwsError('ListAccounts', new Error(`more than ${MAX_PAGES} pages of accounts`));
  }

  private async readLabel(accountId: string): Promise<AccountLabel> {
    const described = await this.send('DescribeAccount', () =>
      this.client.send(new DescribeAccountCommand({ AccountId: accountId })),
    );
    const path: OrganizationParent[] = [];
    let child = accountId;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const parents = await this.send('ListParents', () =>
        this.client.send(new ListParentsCommand({ ChildId: child })),
      );
      const parent = parents.Parents?.[0];
      if (!parent?.Id) break;
      if (parent.Type === 'ROOT') {
        path.push({ id: parent.Id, name: 'Root' });
        break;
      }
      const name = await this.unitName(parent.Id);
      path.push({ id: parent.Id, ...(name && { name }) });
      child = parent.Id;
    }
    const name = described.Account?.Name;
    return { id: accountId, ...(name && { name }), path };
  }

  private unitName(unitId: string): Promise<string | undefined> {
    return this.cached(this.units, unitId, async () => {
      const answer = await this.send('DescribeOrganizationalUnit', () =>
        this.client.send(new DescribeOrganizationalUnitCommand({ OrganizationalUnitId: unitId })),
      );
      return answer.OrganizationalUnit?.Name;
    });
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw mapAwsError(operation, error);
    }
  }
}
