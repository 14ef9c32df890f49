/**
 * Every error PolicyGate raises on purpose derives from {@link PolicyGateError}, so the edge modules
 * (CLI, Lambda handlers, Slack listeners) can tell an expected, explainable failure from a bug.
 */
export class PolicyGateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyGateError';
  }
}

/** A policy document that is not valid JSON or not a valid IAM policy; `path` says where. */
export class PolicyParseError extends PolicyGateError {
  readonly path: string;
  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super(path ? `${path}: ${problem}` : problem, options);
    this.name = 'PolicyParseError';
    this.path = path;
  }
}

/** A restricted-actions entry that is malformed or matches nothing. */
export class RestrictedActionError extends PolicyGateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RestrictedActionError';
  }
}

/**
 * A CloudTrail record or EventBridge event that cannot be understood well enough to locate what it changed.
 * `identifiers` holds the raw, shortened identifiers the event did carry (event name and id, the names and
 * ARNs in `requestParameters`), so the alert can say exactly what may be in force and NOT contained.
 */
export class EventNormalisationError extends PolicyGateError {
  readonly identifiers: Readonly<Record<string, string>>;
  constructor(
    message: string,
    options?: { cause?: unknown; identifiers?: Readonly<Record<string, string>> },
  ) {
    super(message, options);
    this.name = 'EventNormalisationError';
    this.identifiers = options?.identifiers ?? {};
  }
}

/**
 * The analysis of one document ran past its fixed work budget (an adversarial document: thousands of
 * wildcards, a huge list). The change is then treated as risky, never as harmless, and never left to a
 * Lambda timeout.
 */
export class AnalysisBudgetError extends PolicyGateError {
  /** The budget, in the matcher's units of work, that was exceeded. */
  readonly budget: number;
  constructor(message: string, budget: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyGate.AnalysisBudgetError';
    this.budget = budget;
  }
}

/** Missing or invalid configuration (environment variables, data files). */
export class ConfigError extends PolicyGateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/**
 * A failure worth retrying (throttling, a 5xx, a network error). Its name is the error Step Functions
 * sees, matched by the state machine's `Retry` on `PolicyGate.TransientError`.
 */
export class TransientError extends PolicyGateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyGate.TransientError';
  }
}

/** An AWS call that failed for a reason retrying will not fix (access denied, malformed input, ...). */
export class AwsOperationError extends PolicyGateError {
  /** The AWS error code, e.g. `AccessDenied`, `LimitExceeded`. */
  readonly code: string;
  constructor(operation: string, code: string, message: string, options?: { cause?: unknown }) {
    super(`${operation} failed: ${code}: ${message}`, options);
    this.name = 'PolicyGate.AwsOperationError';
    this.code = code;
  }
}

/** A target that is gone (deleted policy, principal, version). */
export class NotFoundError extends PolicyGateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyGate.NotFoundError';
  }
}

/** An approval that cannot move as asked (already decided, expired, unknown). */
export class ApprovalStateError extends PolicyGateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyGate.ApprovalStateError';
  }
}

/**
 * A grouped request whose message is being posted by another attempt (the first request of its page):
 * nothing was posted; it is shown once that message exists (this attempt waited a little, then the
 * delivery worker takes it).
 */
export class GroupMessagePendingError extends PolicyGateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyGate.GroupMessagePendingError';
  }
}

/** A Slack Web API call that failed (an `ok: false` answer, an HTTP error, a timeout). */
export class SlackApiError extends PolicyGateError {
  /** Slack's error code (`channel_not_found`, `ratelimited`, …) or the transport failure. */
  readonly code: string;
  /** For a rate-limited call (HTTP 429): the seconds Slack's `Retry-After` asked for. */
  readonly retryAfterSeconds?: number;
  constructor(
    /** The Web API method that failed (`chat.postMessage`, …). */
    readonly method: string,
    code: string,
    options?: { cause?: unknown; hint?: string; retryAfterSeconds?: number },
  ) {
    super(`Slack ${method} failed: ${code}${options?.hint ? ` (${options.hint})` : ''}`, options);
    this.name = 'PolicyGate.SlackApiError';
    this.code = code;
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * An approval record or decision whose seal is missing or does not verify: someone changed the record
 * outside PolicyGate (or it predates sealing). Nothing is restored; the change stays quarantined.
 */
export class SealError extends PolicyGateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyGate.SealError';
  }
}

/** A per-account settings document (ACCOUNT_SETTINGS) that is malformed; `problems` lists every one. */
export class AccountSettingsError extends PolicyGateError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[], options?: { cause?: unknown }) {
    super(`invalid account settings: ${problems.join('; ')}`, options);
    this.name = 'AccountSettingsError';
    this.problems = problems;
  }
}
