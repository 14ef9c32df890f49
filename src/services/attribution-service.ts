import type { IssuingEventFinder, LookupBudget } from '../adapters/assume-role-finder';
import {
  type Attribution,
  type AttributionSettings,
  attributeDirectly,
  type ChainLink,
  MAX_CHAIN_DEPTH,
  serviceRoleOf,
} from '../domain/attribution';
import { parseUserIdentity } from '../domain/cloudtrail';
import type { PolicyChange } from '../domain/policy-change';
import type { Logger } from '../logger';

export interface AttributionServiceOptions {
  /** `AssumeRole` hops followed at most (default {@link MAX_CHAIN_DEPTH}). */
  readonly maxDepth?: number;
  /** LookupEvents requests one attribution may make in all (default 8). */
  readonly maxRequests?: number;
}

/**
 * Attributes a change to a person: from its own event when AWS vouches for who holds the session
 * ({@link attributeDirectly}), else by following the `AssumeRole` that issued the session's access key to its
 * caller, and that caller's in turn, up to `maxDepth` hops. What cannot be attributed is unattributed (two
 * approvers), or a service identity when the operator declared the change's role one. Never throws: a search
 * that fails leaves the change unattributed.
 */
export class AttributionService {
  private readonly maxDepth: number;
  private readonly maxRequests: number;

  constructor(
    private readonly finder: IssuingEventFinder | undefined,
    private readonly settings: AttributionSettings,
    private readonly logger: Logger,
    options: AttributionServiceOptions = {},
  ) {
    this.maxDepth = options.maxDepth ?? MAX_CHAIN_DEPTH;
    this.maxRequests = options.maxRequests ?? 8;
  }

  async attribute(change: PolicyChange): Promise<Attribution> {
    const direct = attributeDirectly(change.actor, this.settings);
    const source = change.actor.sourceIdentity;
    if (direct.kind === 'person' && direct.attribution.method === 'source-identity' && source) {
      // A source identity is only as good as the trust policy that constrains it (the README's condition):
      // where the trail tells who set it, that person is named too, so a chosen source identity cannot
      // stand in for the caller.
      const { sourceIdentity: _set, ...withoutSource } = change.actor;
      const walked = await this.walk({ ...change, actor: withoutSource }, true);
      if (walked.method === 'assume-role-chain' && walked.person !== source) {
        return { ...walked, sourceIdentity: source };
      }
      return direct.attribution;
    }
    return this.walk(change, false);
  }

  /**
   * Follows the chain from `change.actor`. With `ignoreSourceIdentity`, sessions along the chain are followed
   * past their source identity to the caller who set it.
   */
  private async walk(change: PolicyChange, ignoreSourceIdentity: boolean): Promise<Attribution> {
    const chain: ChainLink[] = [];
    const budget: LookupBudget = { requests: this.maxRequests };
    let actor = change.actor;
    let usedAt = change.eventTime;
    const unattributed = (reason: string, retryable = false): Attribution => {
      const service = serviceRoleOf(change.actor, this.settings);
      if (service) {
        return { method: 'service-identity', serviceRole: service.arn, serviceNote: service.note, reason };
      }
      return {
        method: 'unattributed',
        reason,
        ...(chain.length > 0 && { chain }),
        ...(retryable && { retryable: true }),
      };
    };
    try {
      for (;;) {
        const direct = attributeDirectly(actor, this.settings);
        if (direct.kind === 'person') {
          if (chain.length === 0) return direct.attribution;
          const { person, via } = direct.attribution;
          return { method: 'assume-role-chain', ...(person && { person }), ...(via && { via }), chain };
        }
        if (direct.kind === 'unattributed') {
          return unattributed(
            chain.length === 0 ? direct.reason : `the role chain ends with ${direct.reason}`,
          );
        }
        if (chain.length >= this.maxDepth) {
          return unattributed(`the role chain is longer than ${this.maxDepth} AssumeRole hops`);
        }
        if (!this.finder) {
          return unattributed(
            `the session name on ${direct.roleArn} is chosen by whoever assumed the role, and the trail is not searched`,
          );
        }
        const found = await this.finder.find(
          {
            accessKeyId: direct.accessKeyId,
            sessionArn: direct.sessionArn,
            roleArn: direct.roleArn,
            usedAt,
            ...(direct.issuedAt && { issuedAt: direct.issuedAt }),
          },
          budget,
        );
        if (found.kind !== 'found') {
          return unattributed(
            `the session name on ${direct.roleArn} is chosen by whoever assumed the role, and ${found.reason}`,
            true,
          );
        }
        actor = parseUserIdentity(found.record.userIdentity);
        if (ignoreSourceIdentity) {
          const { sourceIdentity: _set, ...caller } = actor;
          actor = caller;
        }
        chain.push({
          sessionArn: direct.sessionArn,
          eventId: found.eventId,
          calledBy: actor.arn ?? actor.invokedBy ?? actor.type,
        });
        const time = found.record.eventTime;
        if (typeof time === 'string') usedAt = time;
      }
    } catch (error) {
      this.logger.warn('attribution failed; the change is unattributed', { eventId: change.eventId, error });
      return unattributed('attribution failed unexpectedly', true);
    }
  }
}
