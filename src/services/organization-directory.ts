/** One account of the organization, as Organizations describes it. */
export interface OrganizationAccount {
  readonly id: string;
  readonly name?: string;
}

/** A parent of an account: an organizational unit (`ou-…`) or the root (`r-…`). */
export interface OrganizationParent {
  readonly id: string;
  readonly name?: string;
}

/** What approvers see about an account: its name and where it sits in the organization. */
export interface AccountLabel {
  readonly id: string;
  readonly name?: string;
  /** The account's parents, nearest first, the root last. */
  readonly path: readonly OrganizationParent[];
}

/**
 * The organization's accounts and structure (AWS Organizations, read through the delegated-admin or
 * management account). Implementations cache briefly: an account that leaves the organization stops being
 * served within the cache time.
 */
export interface OrganizationDirectory {
  /**
   * The organization's ACTIVE accounts; `fresh` reads them again instead of from the cache (an account
   * that joined since the last read).
   */
  activeAccounts(options?: { readonly fresh?: boolean }): Promise<readonly OrganizationAccount[]>;
  /** The account's name and parents; throws when Organizations cannot say. */
  describeAccount(accountId: string): Promise<AccountLabel>;
}
