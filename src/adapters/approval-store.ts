import { createHash } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  ALLOWED_TRANSITIONS,
  type ApprovalRecord,
  type ApprovalStatus,
  type DecisionOutput,
  type DeletedVersion,
  groupKeyOf,
  lookupKeysOf,
  type MessageRef,
  type Outcome,
  policyKeyOf,
  principalKeyOf,
  type QuarantineState,
  type Reach,
  type RestoreMark,
  statusesLeadingTo,
} from '../domain/approval';
import type { Attribution } from '../domain/attribution';
import type { PrincipalType } from '../domain/policy-change';
import { ApprovalStateError, AwsOperationError, TransientError } from '../errors';

/** What {@link ApprovalStore.transition} records alongside the new status. */
export interface TransitionChanges {
  readonly decision?: DecisionOutput;
  /** The deciding function's seal over `decision` (see `domain/seal.ts`). */
  readonly decisionSeal?: string;
  readonly outcome?: Outcome;
  readonly failure?: { readonly error: string; readonly cause?: string; readonly at: string };
  /** RESTORING / RESTORED: which execution restores, and when. */
  readonly restore?: RestoreMark;
  /** The attribution the deciding click found, stored with the decision that used it. */
  readonly reattribution?: Attribution;
}

/** What {@link ApprovalStore.addApproval} stores with the approval: the click's attribution and the seal. */
export interface ApprovalsSealed {
  /** The attribution the click found (it takes the place of the record's `attribution`), if any. */
  readonly reattribution?: Attribution;
  /** The deciding function's seal over the approvals including this one, and `reattribution`. */
  readonly approvalsSeal: string;
}

/** Conditions a {@link ApprovalStore.transition} must meet besides the status it starts from. */
export interface TransitionOptions {
  readonly from?: readonly ApprovalStatus[];
  /** Only if the record belongs to this execution (`executionId`), e.g. the restore of its own approval. */
  readonly executionId?: string;
  /** Only if the restore in progress was begun by this execution (`restore.executionId`). */
  readonly restoringExecutionId?: string;
}

/** What {@link ApprovalStore.setQuarantine} records with the quarantine. */
export interface QuarantineDetails {
  readonly reach?: Reach;
  readonly concerns?: readonly string[];
  readonly attribution?: Attribution;
  readonly requiredApprovals?: 1 | 2;
}

/** Conditions of a {@link ApprovalStore.transition}. */
export interface TransitionOptions {
  readonly from?: readonly ApprovalStatus[];
  /**
   * Only when exactly this many approvals are recorded (`approvals`): the last approval of two is then one
   * conditional write, so two concurrent second approvals cannot both count.
   */
  readonly approvalsBefore?: number;
}

export type CreateResult = { created: true } | { created: false; existing: ApprovalRecord };

export type TransitionResult =
  | { ok: true; record: ApprovalRecord }
  | { ok: false; current: ApprovalRecord | undefined };

/**
 * Finds approvals by what they govern ({@link lookupKeysOf}). The index behind it is eventually consistent,
 * so an approval written a moment ago may be missed: callers only ever become more careful with what they
 * find (an approval found adds to what is analysed; one missed makes a restore refuse). The records
 * themselves are read strongly, so their status is current.
 */
export interface ApprovalIndex {
  /** Managed-policy and attachment approvals of this policy ARN (any case), newest first. */
  byPolicy(policyArn: string): Promise<ApprovalRecord[]>;
  /** Approvals whose grant reaches users through this group (any case), newest first. */
  byGroup(groupName: string): Promise<ApprovalRecord[]>;
  /** Inline-policy, attachment and group-membership approvals on this principal, newest first. */
  byPrincipal(type: PrincipalType, name: string): Promise<ApprovalRecord[]>;
}

/**
 * The approvals store. Every write is conditional, so a retried Lambda, a duplicate event or two people
 * clicking at once can never overwrite a decision or move an approval along a path the lifecycle in
 * `domain/approval.ts` does not allow.
 */
export interface ApprovalStore extends ApprovalIndex {
  /** Writes a new PENDING approval once; a duplicate gets the stored record back, unchanged. */
  create(record: ApprovalRecord): Promise<CreateResult>;
  /** Strongly consistent read; `undefined` for an unknown id. */
  get(approvalId: string): Promise<ApprovalRecord | undefined>;
  /** Saves a managed-policy version before it is deleted; idempotent by `versionId`. */
  addDeletedVersion(approvalId: string, version: DeletedVersion): Promise<void>;
  /**
   * Records the quarantine of a PENDING approval, keeping the deleted versions already saved, with who its
   * grant reaches and the record's concerns when given (replacing those stored).
   */
  setQuarantine(
    approvalId: string,
    quarantine: QuarantineState,
    details?: QuarantineDetails,
  ): Promise<ApprovalRecord>;
  /** Stores AnalyseChange's quarantine seal on a PENDING approval; refused (ApprovalStateError) otherwise. */
  setQuarantineSeal(approvalId: string, seal: string): Promise<ApprovalRecord>;
  /**
   * Records one approval of a PENDING approval that needs more than one, only while exactly `before`
   * approvals are recorded: of two concurrent clicks, one is counted and the other told to look again.
   */
  addApproval(
    approvalId: string,
    approval: DecisionOutput,
    before: number,
    sealed: ApprovalsSealed,
  ): Promise<TransitionResult>;
  /** Stores the task token of a PENDING approval; refused (ApprovalStateError) once decided. */
  setTaskToken(approvalId: string, taskToken: string): Promise<ApprovalRecord>;
  /** Moves the status along ALLOWED_TRANSITIONS, exactly once; `{ ok: false, current }` when refused. */
  transition(
    approvalId: string,
    to: ApprovalStatus,
    changes: TransitionChanges,
    options?: TransitionOptions,
  ): Promise<TransitionResult>;
  /** Records the final outcome of a decided approval without changing its status. */
  setOutcome(approvalId: string, outcome: Outcome): Promise<ApprovalRecord>;
  /** Records where the request was posted, whatever the status; the first message posted wins. */
  setSlackMessage(approvalId: string, message: MessageRef): Promise<ApprovalRecord>;
  /**
   * Moves the recorded message from `from` (gone from Slack) to `to` (its repost), only while `from` is
   * still the one recorded; `undefined` when another message is recorded by now. Clicks are bound to the
   * recorded message, so this is the one way a request message is ever replaced.
   */
  replaceSlackMessage(
    approvalId: string,
    from: MessageRef,
    to: MessageRef,
  ): Promise<ApprovalRecord | undefined>;
  /**
   * Puts the approval on the Slack backlog: its request did not reach Slack at `since`. `queued` (the
   * request step's outbox entry before its one attempt) is not a problem to report when it is posted
   * later; `down` (the default: an attempt failed) is, and a `queued` entry never overrides it.
   */
  markUnposted(approvalId: string, since: string, reason?: 'down' | 'queued'): Promise<void>;
  /** Marks a PENDING request posted to Slack, for the recovery to check that its message is still there. */
  watchPosted(approvalId: string): Promise<void>;
  /**
   * Claims the one attempt to post the request to Slack until `until`: of the request step and the
   * delivery worker, only one posts at a time. `uncertainSince` says an earlier attempt (from then) ended
   * without knowing whether Slack posted, so the channel must be searched before posting again.
   */
  claimSlackPost(approvalId: string, now: string, until: string): Promise<SlackPostClaim>;
  /**
   * Ends a claimed attempt that did not record a message: `not-posted` when Slack said so (a rate limit,
   * an error answer), `unknown` when its outcome is unknown (timeout, reset, 5xx): the next claim then
   * searches first.
   */
  releaseSlackPost(approvalId: string, outcome: 'not-posted' | 'unknown'): Promise<void>;
  /**
   * Leaves a thread line for the Slack delivery worker to post: the caller holds no bot token (issue 12:
   * analyseChange, whose role has no Slack secret). Replaces the record's other Slack list entry; the
   * worker posts the request itself too when it has no message yet.
   */
  queueSlackNote(approvalId: string, note: SlackNoteRequest): Promise<void>;
}

/**
 * A thread line another function asks the delivery worker to post. Only its kind and an approval id are
 * stored, never text: the worker writes the line, so a write to the table cannot put words in Slack.
 */
export interface SlackNoteRequest {
  /** Another event claimed this request's event id with different content: the request is frozen. */
  readonly kind: 'event-id-reused';
  /** The approval the other event got. */
  readonly otherApprovalId: string;
}

/** A thread line waiting for the delivery worker ({@link SlackBacklog.notes}). */
export interface QueuedSlackNote extends SlackNoteRequest {
  readonly approvalId: string;
}

/** What {@link ApprovalStore.claimSlackPost} got. */
export type SlackPostClaim =
  | { readonly claimed: true; readonly uncertainSince?: string }
  | { readonly claimed: false; readonly reason: 'posted' | 'busy' | 'missing' };

/** A request on the Slack backlog ({@link SlackBacklog}). */
export interface UnpostedRequest {
  readonly approvalId: string;
  /** When Slack could not be reached for it. */
  readonly since: string;
  /** Only queued (under a rate limit, say), no failed attempt: nothing to say about it being late. */
  readonly queued?: boolean;
}

/**
 * What the sweep's Slack recovery looks at: the requests that did not reach Slack (to post once Slack
 * answers again) and the PENDING requests posted (to notice a message deleted in Slack). The records
 * themselves carry the entry (a sparse key in the `byLookup` index), so no other item is written.
 */
export interface SlackBacklog {
  /** At most `limit` requests that did not reach Slack, oldest first. */
  unposted(limit: number): Promise<UnpostedRequest[]>;
  /** At most `limit` approval ids of PENDING requests posted to Slack ({@link watchPosted}), oldest first. */
  posted(limit: number): Promise<string[]>;
  /** At most `limit` thread lines other functions left for the worker ({@link ApprovalStore.queueSlackNote}). */
  notes(limit: number): Promise<QueuedSlackNote[]>;
  /** Takes the approval off every list (posted, decided, noted or given up on). */
  clearSlackWatch(approvalId: string): Promise<void>;
}

export interface DynamoApprovalStoreOptions {
  /** Clock for `updatedAt` and the deleted-versions timestamp; tests pin it. */
  readonly now?: () => Date;
}

/**
 * The approvals table's one secondary index, over lookup items (see {@link lookupItemsOf}): all
 * attributes projected, newest first by `createdAt`. `serverless.yml` and the local table declare exactly
 * this; a template test keeps them in line. One index, not one per kind of key, because CloudFormation
 * adds at most one index to an existing table per stack update.
 */
export const APPROVAL_INDEXES = {
  byLookup: { partitionKey: 'lookupKey', sortKey: 'createdAt' },
} as const;

// An index query reads at most this many pages (1 MB each): far beyond the approvals one policy or group
// gathers within the retention period, and a bound on what a flood of records can cost one step.
const MAX_INDEX_PAGES = 5;

// The lookup key of the Slack backlog: records whose request did not reach Slack carry it as their own
// `lookupKey` (with `slackUnpostedSince`), so they appear in the byLookup index under it until posted.
// Both attributes are the store's bookkeeping, never part of the record (and so of its seal). A lookup
// item's `lookupKey` is a digest of a target's key (`policy#…`, `principal#…`, `group#…`), never these.
const UNPOSTED_KEY = 'slack#unposted';
// The same for PENDING requests posted to Slack (a record is on one list at most: it has a message or not).
const POSTED_KEY = 'slack#posted-pending';
// The same for a thread line left for the worker (with `slackNote`, its kind and the other approval's id).
const NOTE_KEY = 'slack#note';
const SLACK_NOTE = 'slackNote';
const UNPOSTED_SINCE = 'slackUnpostedSince';
// The claim on posting a request (an ISO time it lapses at) and, while an attempt's outcome is unknown,
// when the first such attempt began. Store bookkeeping like the above, never part of the record.
const POST_CLAIM = 'slackPostClaimUntil';
const UNPOSTED_REASON = 'slackUnpostedReason';
const POST_UNCERTAIN = 'slackPostUncertainSince';
// A backlog query reads at most this many pages: the rest waits for the next run.
const MAX_BACKLOG_PAGES = 2;

/*
 * Item layout. The record is stored as is, except for the deleted managed-policy versions: they are saved
 * one at a time *before* the quarantine is recorded, when the `quarantine` map may not exist yet, and a
 * nested path under a missing map cannot be written. So they live in top-level attributes and `get`
 * folds them back into `record.quarantine.deletedVersions`:
 *   deletedVersions         list of DeletedVersion, in the order they were saved
 *   deletedVersionIds       string set of their version ids; what makes the append idempotent
 *   deletedVersionsSavedAt  when the first one was saved (the quarantine started then)
 */
const INTERNAL = {
  versions: 'deletedVersions',
  versionIds: 'deletedVersionIds',
  savedAt: 'deletedVersionsSavedAt',
} as const;

// Several record attributes (status, ttl, ...) are DynamoDB reserved words, so every expression names
// attributes through these placeholders rather than spelling them.
const NAMES = {
  '#approvalId': 'approvalId',
  '#status': 'status',
  '#updatedAt': 'updatedAt',
  '#quarantine': 'quarantine',
  '#taskToken': 'taskToken',
  '#decision': 'decision',
  '#outcome': 'outcome',
  '#failure': 'failure',
  '#slackMessage': 'slackMessage',
  '#reach': 'reach',
  '#concerns': 'concerns',
  '#decisionSeal': 'decisionSeal',
  '#quarantineSeal': 'quarantineSeal',
  '#restore': 'restore',
  '#executionId': 'executionId',
  '#attribution': 'attribution',
  '#requiredApprovals': 'requiredApprovals',
  '#approvals': 'approvals',
  '#approvalsSeal': 'approvalsSeal',
  '#reattribution': 'reattribution',
  '#versions': INTERNAL.versions,
  '#versionIds': INTERNAL.versionIds,
  '#savedAt': INTERNAL.savedAt,
  // The Slack lists: a record's own entry in the lookup index, and when it first failed to post.
  '#lookupKey': APPROVAL_INDEXES.byLookup.partitionKey,
  '#since': UNPOSTED_SINCE,
  '#postClaim': POST_CLAIM,
  '#unpostedReason': UNPOSTED_REASON,
  '#postUncertain': POST_UNCERTAIN,
  '#note': SLACK_NOTE,
} as const;

type Name = keyof typeof NAMES;

/** Only the placeholders an expression uses: DynamoDB rejects unused ExpressionAttributeNames. */
function namesFor(...expressions: string[]): Record<string, string> {
  const text = expressions.join(' ');
  const names: Record<string, string> = {};
  for (const [placeholder, name] of Object.entries(NAMES) as [Name, string][]) {
    if (new RegExp(`${placeholder}\\b`).test(text)) names[placeholder] = name;
  }
  return names;
}

const STATUSES = Object.keys(ALLOWED_TRANSITIONS) as ApprovalStatus[];

/**
 * {@link ApprovalStore} over one DynamoDB table keyed by `approvalId` (S), with `ttl` (epoch seconds) as
 * its TTL attribute.
 *
 * Build the client with undefined values dropped, since optional record fields may be present but
 * undefined:
 *
 * ```ts
 * const client = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
 *   marshallOptions: { removeUndefinedValues: true },
 * });
 * const store = new DynamoApprovalStore(client, config.approvalsTable);
 * ```
 *
 * Errors: throttling, 5xx and network failures become {@link TransientError} (the workflow retries them),
 * a refused state change becomes {@link ApprovalStateError} or a `{ ok: false }` result as each method
 * says, and any other AWS failure becomes {@link AwsOperationError}. Nothing is logged here, and the task
 * token never appears in an error message.
 */
export class DynamoApprovalStore implements ApprovalStore, SlackBacklog {
  private readonly now: () => Date;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoApprovalStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }
  /** The table's client and name, for the Slack stores whose items live in the same table. */
  tableAccess(): { readonly client: DynamoDBDocumentClient; readonly tableName: string } {
    return { client: this.client, tableName: this.tableName };
  }

  /**
   * Writes a new approval, which must be PENDING (every later status is reached only by
   * {@link transition}). Never overwrites: if the id is already stored (a duplicate event delivery or a
   * retried Lambda), the stored record is returned unchanged as `existing`.
   */
  async create(record: ApprovalRecord): Promise<CreateResult> {
    if (record.status !== 'PENDING') {
      throw new Error(`approval ${record.approvalId} must be created PENDING, not ${record.status}`);
    }
    // The lookup items go first: one left behind by a record that was never written points at nothing and
    // is skipped, while a record without its lookup items could not be found by what it governs.
    for (const item of lookupItemsOf(record)) {
      try {
        await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
      } catch (err) {
        throw mapError('PutItem', err);
      }
    }
    const condition = 'attribute_not_exists(#approvalId)';
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(record),
          ConditionExpression: condition,
          ExpressionAttributeNames: namesFor(condition),
        }),
      );
      return { created: true };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw mapError('PutItem', err);
    }
    // `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'` would save this read on AWS, but dynalite ignores it
    // and lib-dynamodb does not unmarshall the item on the error, so one code path it is.
    const existing = await this.get(record.approvalId);
    if (!existing) {
      // Only possible if the record was deleted in between (TTL); the caller's retry will create it.
      throw new TransientError(`approval ${record.approvalId} vanished between a conditional put and a read`);
    }
    return { created: false, existing };
  }

  /**
   * Consumes a decision page's form nonce: one small item (`form#<nonce>`, `ref` the approval, expiring
   * with the link) written only if absent, so of two posts of the same form exactly one gets `true`.
   * It carries `ref`, so {@link get} never reads it as an approval.
   */
  async consumeFormNonce(nonce: string, approvalId: string, expiresAt: number): Promise<boolean> {
    const condition = 'attribute_not_exists(#approvalId)';
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { approvalId: `form#${nonce}`, ref: approvalId, ttl: expiresAt + 86_400 },
          ConditionExpression: condition,
          ExpressionAttributeNames: namesFor(condition),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw mapError('PutItem', err);
    }
  }

  /** Reads an approval with a strongly consistent read, or `undefined` if there is none. */
  async get(approvalId: string): Promise<ApprovalRecord | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { approvalId }, ConsistentRead: true }),
      );
      // A lookup item (or a Slack group) is no approval, whatever id asks for it.
      return Item && Item.ref === undefined && Item.kind === undefined ? fromItem(Item) : undefined;
    } catch (err) {
      throw mapError('GetItem', err);
    }
  }

  /** Managed-policy and attachment approvals of a policy, newest first. */
  async byPolicy(policyArn: string): Promise<ApprovalRecord[]> {
    return this.lookUp(policyKeyOf(policyArn));
  }

  /** Approvals whose grant reaches users through a group, newest first. */
  async byGroup(groupName: string): Promise<ApprovalRecord[]> {
    return this.lookUp(groupKeyOf(groupName));
  }

  /** Approvals on a principal, newest first. */
  async byPrincipal(type: PrincipalType, name: string): Promise<ApprovalRecord[]> {
    return this.lookUp(principalKeyOf(type, name));
  }

  /** The approvals a lookup key leads to (index `byLookup`), each then read strongly. */
  private async lookUp(key: string): Promise<ApprovalRecord[]> {
    const refs: string[] = [];
    let start: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_INDEX_PAGES; page += 1) {
      let output: { Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> };
      try {
        output = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: 'byLookup',
            KeyConditionExpression: '#key = :key',
            ExpressionAttributeNames: { '#key': APPROVAL_INDEXES.byLookup.partitionKey },
            ExpressionAttributeValues: { ':key': lookupKey(key) },
            ScanIndexForward: false,
            ExclusiveStartKey: start,
          }),
        );
      } catch (err) {
        throw mapError('Query', err);
      }
      for (const item of output.Items ?? []) {
        if (typeof item.ref === 'string' && !refs.includes(item.ref)) refs.push(item.ref);
      }
      start = output.LastEvaluatedKey;
      if (start === undefined) break;
    }
    // More than the bound: the newest are returned, and callers only ever get more careful with more.
    const records: ApprovalRecord[] = [];
    for (const ref of refs) {
      const record = await this.get(ref);
      if (record) records.push(record);
    }
    return records;
  }

  /**
   * Saves a managed-policy version PolicyGate is about to delete to make room for the quarantine version.
   * Call it before `DeletePolicyVersion`, so the document is never lost. Idempotent by `versionId`: a retry
   * saves nothing twice. It needs only that the approval exists (not that it is PENDING), so recording a
   * deletion never blocks a quarantine. {@link get} returns the saved versions in
   * `record.quarantine.deletedVersions`, also before {@link setQuarantine} has run.
   *
   * @throws ApprovalStateError if the approval does not exist, or a different document is already saved
   *   under the same version id.
   */
  async addDeletedVersion(approvalId: string, version: DeletedVersion): Promise<void> {
    const update =
      'SET #versions = list_append(if_not_exists(#versions, :empty), :versions), ' +
      '#savedAt = if_not_exists(#savedAt, :now), #updatedAt = :now ADD #versionIds :versionIds';
    const condition = 'attribute_exists(#approvalId) AND NOT contains(#versionIds, :versionId)';
    const updated = await this.conditionalUpdate({
      TableName: this.tableName,
      Key: { approvalId },
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: namesFor(update, condition),
      ExpressionAttributeValues: {
        ':empty': [],
        ':versions': [cleanDeletedVersion(version)],
        ':versionIds': new Set([version.versionId]),
        ':versionId': version.versionId,
        ':now': this.now().toISOString(),
      },
    });
    if (updated) return;
    const current = await this.get(approvalId);
    if (!current) throw new ApprovalStateError(`approval ${approvalId} not found`);
    const saved = current.quarantine?.deletedVersions?.find((v) => v.versionId === version.versionId);
    if (saved && saved.document !== version.document) {
      throw new ApprovalStateError(
        `approval ${approvalId} already holds a different document for deleted version ${version.versionId}`,
      );
    }
    // Same version already saved: this was a retry.
  }

  /**
   * Records what the quarantine did. Versions saved by {@link addDeletedVersion} are kept; any in
   * `quarantine.deletedVersions` that are not saved yet are saved first.
   *
   * @throws ApprovalStateError if the approval does not exist or is no longer PENDING.
   */
  async setQuarantine(
    approvalId: string,
    quarantine: QuarantineState,
    details: QuarantineDetails = {},
  ): Promise<ApprovalRecord> {
    const { deletedVersions = [], ...rest } = quarantine;
    for (const version of deletedVersions) await this.addDeletedVersion(approvalId, version);
    const sets = ['#quarantine = :quarantine'];
    const values: Record<string, unknown> = { ':quarantine': rest };
    if (details.reach) {
      sets.push('#reach = :reach');
      values[':reach'] = details.reach;
    }
    if (details.concerns) {
      sets.push('#concerns = :concerns');
      values[':concerns'] = details.concerns;
    }
    if (details.attribution) {
      sets.push('#attribution = :attribution');
      values[':attribution'] = details.attribution;
    }
    if (details.requiredApprovals !== undefined) {
      sets.push('#requiredApprovals = :requiredApprovals');
      values[':requiredApprovals'] = details.requiredApprovals;
    }
    return this.updatePending(approvalId, `SET ${sets.join(', ')}`, values, 'record');
  }

  /**
   * Stores the quarantine seal AnalyseChange made over the record as {@link setQuarantine} returned it.
   *
   * @throws ApprovalStateError if the approval does not exist or is no longer PENDING.
   */
  async setQuarantineSeal(approvalId: string, seal: string): Promise<ApprovalRecord> {
    return this.updatePending(
      approvalId,
      'SET #quarantineSeal = :seal',
      { ':seal': seal },
      'quarantine seal',
    );
  }

  /**
   * Stores the Step Functions task token of the approval request and returns the updated record. Only a
   * PENDING approval takes a token (a retried request step may replace it); a decided one is refused.
   *
   * @throws ApprovalStateError if the approval does not exist or is no longer PENDING.
   */
  async setTaskToken(approvalId: string, taskToken: string): Promise<ApprovalRecord> {
    return this.updatePending(
      approvalId,
      'SET #taskToken = :taskToken',
      { ':taskToken': taskToken },
      'token',
      [taskToken],
    );
  }

  /**
   * Moves an approval to `to`, only from a status that may lead there (`statusesLeadingTo(to)`, narrowed
   * by `options.from`), setting `updatedAt` and the given `changes` in the same conditional write. This is
   * what makes a decision exactly-once: of two concurrent PENDING → APPROVED and PENDING → DENIED, one
   * wins and the other gets `{ ok: false }` with the winner's record in `current` (`undefined` if there
   * is no such approval).
   *
   * @throws Error (a bug in the caller) if `options.from` names a status that cannot lead to `to`, or a
   *   `decision` contradicts `to` or belongs to another approval.
   */
  async transition(
    approvalId: string,
    to: ApprovalStatus,
    changes: TransitionChanges,
    options: TransitionOptions = {},
  ): Promise<TransitionResult> {
    const from = allowedPredecessors(to, options.from);
    checkDecision(approvalId, to, changes.decision);
    if (from.length === 0) return { ok: false, current: await this.get(approvalId) };

    const values: Record<string, unknown> = { ':to': to, ':now': this.now().toISOString() };
    const sets = ['#status = :to', '#updatedAt = :now'];
    for (const field of [
      'decision',
      'decisionSeal',
      'outcome',
      'failure',
      'restore',
      'reattribution',
    ] as const) {
      if (changes[field] === undefined) continue;
      sets.push(`#${field} = :${field}`);
      values[`:${field}`] = changes[field];
    }
    from.forEach((status, i) => {
      values[`:from${i}`] = status;
    });
    const update = `SET ${sets.join(', ')}`;
    let condition = `#status IN (${from.map((_, i) => `:from${i}`).join(', ')})`;
    if (options.executionId !== undefined) {
      condition += ' AND #executionId = :executionId';
      values[':executionId'] = options.executionId;
    }
    if (options.restoringExecutionId !== undefined) {
      condition += ' AND #restore.#executionId = :restoringExecution';
      values[':restoringExecution'] = options.restoringExecutionId;
    }
    if (options.approvalsBefore !== undefined) {
      condition += ` AND ${approvalsCountIs(options.approvalsBefore, values)}`;
    }
    const result = await this.conditionalUpdate({
      TableName: this.tableName,
      Key: { approvalId },
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: namesFor(update, condition),
      ExpressionAttributeValues: values,
    });
    if (result) return { ok: true, record: result };
    return { ok: false, current: await this.get(approvalId) };
  }

  /**
   * Appends an approval to a PENDING record's `approvals`, only while exactly `before` are recorded, and
   * returns the updated record; `{ ok: false, current }` when the condition failed (decided meanwhile, or
   * another approval counted first).
   */
  async addApproval(
    approvalId: string,
    approval: DecisionOutput,
    before: number,
    sealed: ApprovalsSealed,
  ): Promise<TransitionResult> {
    checkDecision(approvalId, 'APPROVED', approval);
    const values: Record<string, unknown> = {
      ':approval': [approval],
      ':empty': [],
      ':pending': 'PENDING' satisfies ApprovalStatus,
      ':now': this.now().toISOString(),
      ':approvalsSeal': sealed.approvalsSeal,
    };
    let update =
      'SET #approvals = list_append(if_not_exists(#approvals, :empty), :approval), #approvalsSeal = :approvalsSeal, #updatedAt = :now';
    if (sealed.reattribution !== undefined) {
      update += ', #reattribution = :reattribution';
      values[':reattribution'] = sealed.reattribution;
    }
    const condition = `#status = :pending AND ${approvalsCountIs(before, values)}`;
    const result = await this.conditionalUpdate({
      TableName: this.tableName,
      Key: { approvalId },
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: namesFor(update, condition),
      ExpressionAttributeValues: values,
    });
    if (result) return { ok: true, record: result };
    return { ok: false, current: await this.get(approvalId) };
  }

  /**
   * Records the final outcome of a decided approval without changing its status (e.g. RESTORED after
   * APPROVED), replacing any outcome recorded before, and returns the updated record.
   *
   * @throws ApprovalStateError if the approval does not exist or is still PENDING (a PENDING approval
   *   has no final outcome: end it with {@link transition}, which takes an outcome too).
   */
  async setOutcome(approvalId: string, outcome: Outcome): Promise<ApprovalRecord> {
    const update = 'SET #outcome = :outcome, #updatedAt = :now';
    const condition = 'attribute_exists(#approvalId) AND #status <> :pending';
    const record = await this.conditionalUpdate({
      TableName: this.tableName,
      Key: { approvalId },
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: namesFor(update, condition),
      ExpressionAttributeValues: {
        ':outcome': outcome,
        ':pending': 'PENDING' satisfies ApprovalStatus,
        ':now': this.now().toISOString(),
      },
    });
    if (record) return record;
    throw await this.stateError(approvalId, 'an outcome', 'is still PENDING');
  }

  /**
   * Records where the request was posted. Any status takes it (a request posted late, after Slack came
   * back, may already be decided), but only once: a second message never replaces the first, so a
   * retried step cannot orphan the message people are clicking on. Returns the stored record.
   *
   * @throws ApprovalStateError if the approval does not exist.
   */
  async setSlackMessage(approvalId: string, message: MessageRef): Promise<ApprovalRecord> {
    // A posted request is off the Slack backlog, whoever posted it.
    const update =
      'SET #slackMessage = :message, #updatedAt = :now REMOVE #lookupKey, #since, #postClaim, #postUncertain, #unpostedReason';
    const condition = 'attribute_exists(#approvalId) AND attribute_not_exists(#slackMessage)';
    const record = await this.conditionalUpdate({
      TableName: this.tableName,
      Key: { approvalId },
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: namesFor(update, condition),
      ExpressionAttributeValues: {
        ':message': {
          channel: message.channel,
          ts: message.ts,
          ...(message.groupId && { groupId: message.groupId }),
        },
        ':now': this.now().toISOString(),
      },
    });
    if (record) return record;
    const current = await this.get(approvalId);
    if (!current) throw new ApprovalStateError(`approval ${approvalId} not found; cannot record its message`);
    return current;
  }

  /**
   * Replaces the recorded request message with its repost, conditional on `from` still being recorded:
   * of two reposts of one deleted message, one is recorded and the other gets `undefined`.
   */
  async replaceSlackMessage(
    approvalId: string,
    from: MessageRef,
    to: MessageRef,
  ): Promise<ApprovalRecord | undefined> {
    const update = 'SET #slackMessage = :message, #updatedAt = :now';
    const condition = '#slackMessage.#channel = :fromChannel AND #slackMessage.#ts = :fromTs';
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: { approvalId },
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: { ...namesFor(update, condition), '#channel': 'channel', '#ts': 'ts' },
      ExpressionAttributeValues: {
        // A group's repost stays a group's message: its redraws show every request it lists.
        ':message': { channel: to.channel, ts: to.ts, ...(to.groupId && { groupId: to.groupId }) },
        ':fromChannel': from.channel,
        ':fromTs': from.ts,
        ':now': this.now().toISOString(),
      },
    });
  }

  /**
   * Puts an approval on the Slack backlog (see {@link UNPOSTED_KEY}); the first time it failed is kept. A
   * record without a message only: one posted meanwhile needs nothing.
   */
  async markUnposted(approvalId: string, since: string, reason: 'down' | 'queued' = 'down'): Promise<void> {
    const update =
      reason === 'down'
        ? 'SET #lookupKey = :key, #since = if_not_exists(#since, :since), #unpostedReason = :reason'
        : 'SET #lookupKey = :key, #since = if_not_exists(#since, :since), #unpostedReason = if_not_exists(#unpostedReason, :reason)';
    const condition = 'attribute_exists(#approvalId) AND attribute_not_exists(#slackMessage)';
    await this.updateIfAllowed(approvalId, update, condition, {
      ':key': lookupKey(UNPOSTED_KEY),
      ':since': since,
      ':reason': reason,
    });
  }

  /**
   * Claims posting the request until `until`, unless a message is recorded or another claim has not
   * lapsed. The claim itself marks the attempt uncertain (kept if the claimant dies mid-post); an earlier
   * uncertain attempt is reported, oldest first.
   */
  async claimSlackPost(approvalId: string, now: string, until: string): Promise<SlackPostClaim> {
    const update = 'SET #postClaim = :until, #postUncertain = if_not_exists(#postUncertain, :now)';
    const condition =
      'attribute_exists(#approvalId) AND attribute_not_exists(#slackMessage) AND (attribute_not_exists(#postClaim) OR #postClaim < :now OR #postClaim > :until)';
    try {
      const output = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { approvalId },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: namesFor(update, condition),
          ExpressionAttributeValues: { ':until': until, ':now': now },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const before = output.Attributes?.[POST_UNCERTAIN];
      return { claimed: true, ...(typeof before === 'string' && { uncertainSince: before }) };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw mapError('UpdateItem', err);
    }
    const current = await this.get(approvalId);
    if (!current) return { claimed: false, reason: 'missing' };
    return { claimed: false, reason: current.slackMessage ? 'posted' : 'busy' };
  }

  /** Ends a claim; `not-posted` also clears the uncertainty (Slack answered that nothing was posted). */
  async releaseSlackPost(approvalId: string, outcome: 'not-posted' | 'unknown'): Promise<void> {
    const update = outcome === 'not-posted' ? 'REMOVE #postClaim, #postUncertain' : 'REMOVE #postClaim';
    const condition = 'attribute_exists(#approvalId)';
    await this.updateIfAllowed(approvalId, update, condition);
  }

  /** The oldest requests that did not reach Slack, at most `limit` and {@link MAX_BACKLOG_PAGES} pages. */
  async unposted(limit: number): Promise<UnpostedRequest[]> {
    const items = await this.slackList(UNPOSTED_KEY, limit);
    return items.map((item) => ({
      approvalId: String(item.approvalId),
      since: typeof item[UNPOSTED_SINCE] === 'string' ? item[UNPOSTED_SINCE] : String(item.createdAt),
      ...(item[UNPOSTED_REASON] === 'queued' && { queued: true }),
    }));
  }

  /** The oldest PENDING requests posted to Slack, at most `limit` and {@link MAX_BACKLOG_PAGES} pages. */
  async posted(limit: number): Promise<string[]> {
    return (await this.slackList(POSTED_KEY, limit)).map((item) => String(item.approvalId));
  }

  /** The thread lines left for the worker, oldest first; an entry whose note is unreadable is skipped. */
  async notes(limit: number): Promise<QueuedSlackNote[]> {
    return (await this.slackList(NOTE_KEY, limit)).flatMap((item) => {
      const note = item[SLACK_NOTE] as { kind?: unknown; otherApprovalId?: unknown } | undefined;
      return note?.kind === 'event-id-reused' && typeof note.otherApprovalId === 'string'
        ? [{ approvalId: String(item.approvalId), kind: note.kind, otherApprovalId: note.otherApprovalId }]
        : [];
    });
  }

  /** Puts a thread line on the worker's list (see {@link ApprovalStore.queueSlackNote}). */
  async queueSlackNote(approvalId: string, note: SlackNoteRequest): Promise<void> {
    const update = 'SET #lookupKey = :key, #note = :note';
    const condition = 'attribute_exists(#approvalId)';
    await this.updateIfAllowed(approvalId, update, condition, {
      ':key': lookupKey(NOTE_KEY),
      ':note': { kind: note.kind, otherApprovalId: note.otherApprovalId },
    });
  }

  /** Puts a PENDING request with a message on the posted list; one decided or without a message is not. */
  async watchPosted(approvalId: string): Promise<void> {
    const update = 'SET #lookupKey = :key';
    const condition = '#status = :pending AND attribute_exists(#slackMessage)';
    await this.updateIfAllowed(approvalId, update, condition, {
      ':key': lookupKey(POSTED_KEY),
      ':pending': 'PENDING' satisfies ApprovalStatus,
    });
  }

  /** The records under one of the Slack lists' keys, oldest first, bounded in entries and pages. */
  private async slackList(key: string, limit: number): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_BACKLOG_PAGES && found.length < limit; page += 1) {
      let output: { Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> };
      try {
        output = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: 'byLookup',
            KeyConditionExpression: '#key = :key',
            ExpressionAttributeNames: { '#key': APPROVAL_INDEXES.byLookup.partitionKey },
            ExpressionAttributeValues: { ':key': lookupKey(key) },
            ScanIndexForward: true,
            Limit: limit - found.length,
            ExclusiveStartKey: start,
          }),
        );
      } catch (err) {
        throw mapError('Query', err);
      }
      for (const item of output.Items ?? []) {
        // Only records: a lookup item (`ref`) never carries these keys, whatever the index holds.
        if (item.ref !== undefined || typeof item.approvalId !== 'string') continue;
        if (found.some((f) => f.approvalId === item.approvalId)) continue;
        found.push(item);
      }
      start = output.LastEvaluatedKey;
      if (start === undefined) break;
    }
    return found.slice(0, limit);
  }

  /** Takes an approval off the Slack lists; nothing happens to one on neither. */
  async clearSlackWatch(approvalId: string): Promise<void> {
    const update = 'REMOVE #lookupKey, #since, #unpostedReason, #note';
    const condition = 'attribute_exists(#approvalId)';
    await this.updateIfAllowed(approvalId, update, condition);
  }

  /**
   * A conditional UpdateItem whose refusal is an answer, not an error: the record is gone or no longer
   * in the state the write is for, and the caller's list entry or claim simply does not apply.
   */
  private async updateIfAllowed(
    approvalId: string,
    update: string,
    condition: string,
    values?: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { approvalId },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: namesFor(update, condition),
          ...(values && { ExpressionAttributeValues: values }),
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw mapError('UpdateItem', err);
    }
  }

  /** A SET (plus `updatedAt`) on a record that must exist and be PENDING; returns the updated record. */
  private async updatePending(
    approvalId: string,
    set: string,
    values: Record<string, unknown>,
    what: string,
    secrets: readonly string[] = [],
  ): Promise<ApprovalRecord> {
    const update = `${set}, #updatedAt = :now`;
    const condition = '#status = :pending';
    const record = await this.conditionalUpdate(
      {
        TableName: this.tableName,
        Key: { approvalId },
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: namesFor(update, condition),
        ExpressionAttributeValues: {
          ...values,
          ':pending': 'PENDING' satisfies ApprovalStatus,
          ':now': this.now().toISOString(),
        },
      },
      secrets,
    );
    if (record) return record;
    throw await this.stateError(approvalId, `a ${what}`, 'is not PENDING');
  }

  /**
   * Sends a conditional update and returns the updated record, or `undefined` when the condition failed.
   * Always asks for ALL_NEW: the records are small, and every caller either returns the record or only
   * needs to know the write happened.
   */
  private async conditionalUpdate(
    input: Omit<UpdateCommandInput, 'ReturnValues'>,
    secrets: readonly string[] = [],
  ): Promise<ApprovalRecord | undefined> {
    try {
      const { Attributes } = await this.client.send(new UpdateCommand({ ...input, ReturnValues: 'ALL_NEW' }));
      if (!Attributes) throw new Error('UpdateItem with ReturnValues ALL_NEW returned no attributes');
      return fromItem(Attributes);
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      throw mapError('UpdateItem', err, secrets);
    }
  }

  /** Why a conditional write on a PENDING-only (or decided-only) field was refused. */
  private async stateError(approvalId: string, what: string, problem: string): Promise<ApprovalStateError> {
    const current = await this.get(approvalId);
    if (!current) return new ApprovalStateError(`approval ${approvalId} not found; cannot record ${what}`);
    return new ApprovalStateError(
      `approval ${approvalId} ${problem} (status ${current.status}); cannot record ${what}`,
    );
  }
}

/** A condition that exactly `count` approvals are recorded (adds its value to `values`). */
function approvalsCountIs(count: number, values: Record<string, unknown>): string {
  if (!Number.isInteger(count) || count < 0) throw new Error(`approval count must be >= 0, got ${count}`);
  values[':approvalCount'] = count;
  if (count === 0) return '(attribute_not_exists(#approvals) OR size(#approvals) = :approvalCount)';
  return 'size(#approvals) = :approvalCount';
}

/** The statuses a transition to `to` may start from: all allowed ones, or the caller's subset of them. */
function allowedPredecessors(to: ApprovalStatus, requested?: readonly ApprovalStatus[]): ApprovalStatus[] {
  if (!STATUSES.includes(to)) throw new Error(`unknown approval status ${JSON.stringify(to)}`);
  const allowed = statusesLeadingTo(to);
  if (requested === undefined) return allowed;
  const disallowed = requested.filter((status) => !allowed.includes(status));
  if (disallowed.length > 0) {
    throw new Error(
      `cannot transition to ${to} from ${disallowed.join(', ')}; allowed: ${allowed.join(', ')}`,
    );
  }
  return allowed.filter((status) => requested.includes(status));
}

/** A decision must agree with the status it moves to and name the approval it decides. */
function checkDecision(approvalId: string, to: ApprovalStatus, decision: DecisionOutput | undefined): void {
  if (!decision) return;
  if (decision.approvalId !== approvalId) {
    throw new Error(`decision for approval ${decision.approvalId} passed for approval ${approvalId}`);
  }
  if ((to === 'APPROVED' || to === 'DENIED') && decision.decision !== to) {
    throw new Error(`decision ${decision.decision} cannot move approval ${approvalId} to ${to}`);
  }
}

/** Only the DeletedVersion fields, so nothing the caller attached by accident is stored. */
function cleanDeletedVersion(version: DeletedVersion): DeletedVersion {
  return version.createDate === undefined
    ? { versionId: version.versionId, document: version.document }
    : { versionId: version.versionId, document: version.document, createDate: version.createDate };
}

/** The item for a record: its deleted versions move to the top-level attributes described above. */
function toItem(record: ApprovalRecord): Record<string, unknown> {
  const { quarantine, ...rest } = record;
  const item: Record<string, unknown> = { ...rest };
  if (!quarantine) return item;
  const { deletedVersions = [], ...state } = quarantine;
  item.quarantine = state;
  const unique = new Map(deletedVersions.map((v) => [v.versionId, cleanDeletedVersion(v)]));
  if (unique.size > 0) {
    item[INTERNAL.versions] = [...unique.values()];
    // An empty string set is not storable, hence only when there is something in it.
    item[INTERNAL.versionIds] = new Set(unique.keys());
    item[INTERNAL.savedAt] = quarantine.appliedAt;
  }
  return item;
}

/** The record for an item: deleted versions folded back into `quarantine.deletedVersions`. */
function fromItem(item: Record<string, unknown>): ApprovalRecord {
  const {
    [INTERNAL.versions]: versions,
    [INTERNAL.versionIds]: _ids,
    [INTERNAL.savedAt]: savedAt,
    // The Slack backlog's bookkeeping (see UNPOSTED_KEY): on a record only while it waits for Slack.
    lookupKey: _backlog,
    [UNPOSTED_SINCE]: _since,
    [POST_CLAIM]: _claim,
    [UNPOSTED_REASON]: _reason,
    [POST_UNCERTAIN]: _uncertain,
    [SLACK_NOTE]: _note,
    ...rest
  } = item;
  const record = rest as unknown as ApprovalRecord;
  const deletedVersions = Array.isArray(versions) ? (versions as DeletedVersion[]) : [];
  if (deletedVersions.length === 0) return record;
  // Until setQuarantine records the finished quarantine, `appliedAt` is when it started (the first
  // version was saved) and `quarantineVersionId` is absent.
  const quarantine: QuarantineState = record.quarantine
    ? { ...record.quarantine, deletedVersions }
    : { appliedAt: String(savedAt), deletedVersions };
  return { ...record, quarantine };
}

function isConditionalCheckFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);
const SERVER_SIDE = new Set(['InternalServerError', 'InternalFailure', 'ServiceUnavailable']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

/**
 * The one place DynamoDB failures are translated. `secrets` (the task token) are cut out of the message,
 * and an error whose message held one is not kept as the cause, so it cannot reach a log.
 */
export function mapError(operation: string, err: unknown, secrets: readonly string[] = []): Error {
  const e = (err ?? {}) as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  const name = typeof e.name === 'string' && e.name !== '' && e.name !== 'Error' ? e.name : undefined;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const raw = typeof e.message === 'string' ? e.message : String(err);
  const message = secrets.reduce(
    (text, secret) => (secret ? text.split(secret).join('[redacted]') : text),
    raw,
  );
  const options = message === raw ? { cause: err } : {};
  const status = e.$metadata?.httpStatusCode;
  // An SDK error (it has $metadata) without an HTTP status means no response arrived: a network failure.
  // This also covers socket errors the SDK re-wraps without their `code` (it does so when they come from
  // another realm, as under Jest).
  const noResponse = e.$metadata !== undefined && status === undefined && name !== 'CredentialsProviderError';
  const transient =
    noResponse ||
    (name !== undefined && (THROTTLING.has(name) || SERVER_SIDE.has(name) || NETWORK_NAMES.has(name))) ||
    (code !== undefined && (NETWORK_CODES.has(code) || THROTTLING.has(code))) ||
    (typeof status === 'number' && status >= 500) ||
    e.$retryable !== undefined;
  if (transient) {
    return new TransientError(`${operation} failed: ${name ?? code ?? 'Error'}: ${message}`, options);
  }
  return new AwsOperationError(operation, name ?? code ?? 'UnknownError', message, options);
}

/**
 * The index value of a lookup key: a digest, so an ARN of IAM's full 2,048 characters still fits
 * DynamoDB's key limits.
 */
function lookupKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * One small item per thing an approval governs ({@link lookupKeysOf}), in the approvals table itself:
 * `approvalId` `lookup#<digest>#<approval id>`, the digest as `lookupKey` (the index's key), the approval
 * id as `ref`, and the record's `createdAt` and `ttl`. They hold no record data: a reader follows `ref`.
 */
function lookupItemsOf(record: ApprovalRecord): Record<string, unknown>[] {
  return [...new Set(lookupKeysOf(record.change.target))].map((key) => {
    const digest = lookupKey(key);
    return {
      approvalId: `lookup#${digest}#${record.approvalId}`,
      lookupKey: digest,
      ref: record.approvalId,
      createdAt: record.createdAt,
      ttl: record.ttl,
    };
  });
}
