/**
 * Error codes the local IAM stand-in can return, with the HTTP status real IAM uses for each.
 * The statuses match the `awsQueryError` traits in `@aws-sdk/client-iam`, so the SDK maps them to the
 * same exception classes it would for the real service.
 */
export const IAM_ERROR_STATUS = {
  NoSuchEntity: 404,
  DeleteConflict: 409,
  LimitExceeded: 409,
  EntityAlreadyExists: 409,
  MalformedPolicyDocument: 400,
  InvalidInput: 400,
  ValidationError: 400,
  ServiceFailure: 500,
  Throttling: 400,
  AccessDenied: 403,
  MissingAuthenticationToken: 403,
  IncompleteSignature: 400,
  InvalidAction: 400,
  RequestEntityTooLarge: 413,
} as const;

export type IamErrorCode = keyof typeof IAM_ERROR_STATUS;

/** An IAM protocol error: rendered as an `<ErrorResponse>` with IAM's code, message and status. */
export class IamError extends Error {
  readonly code: IamErrorCode;
  readonly status: number;

  constructor(code: IamErrorCode, message: string) {
    super(message);
    this.name = 'IamError';
    this.code = code;
    this.status = IAM_ERROR_STATUS[code];
  }

  /** IAM reports server-side faults as `Receiver` and everything the caller did wrong as `Sender`. */
  get type(): 'Sender' | 'Receiver' {
    return this.status >= 500 ? 'Receiver' : 'Sender';
  }
}

/** Error codes IAM models as exceptions; CloudTrail records them with an `Exception` suffix. */
const MODELED_EXCEPTIONS: ReadonlySet<IamErrorCode> = new Set([
  'NoSuchEntity',
  'DeleteConflict',
  'LimitExceeded',
  'EntityAlreadyExists',
  'MalformedPolicyDocument',
  'InvalidInput',
  'ServiceFailure',
]);

/**
 * The `errorCode` CloudTrail writes for a failed IAM call, e.g. `NoSuchEntity` -> `NoSuchEntityException`.
 * Unmodelled codes such as `AccessDenied` are recorded as they are.
 */
export function cloudTrailErrorCode(code: IamErrorCode): string {
  return MODELED_EXCEPTIONS.has(code) ? `${code}Exception` : code;
}

/** IAM's wording for a parameter that fails a model constraint. */
export function validationError(field: string, value: string | null, constraint: string): IamError {
  const shown = value === null ? 'null' : `'${value}'`;
  return new IamError(
    'ValidationError',
    `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}
