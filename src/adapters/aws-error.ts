import { AwsOperationError, TransientError } from '../errors';

interface SdkErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/**
 * Maps an AWS SDK error of a JSON-protocol service (SQS, Step Functions, CloudTrail, SNS, DynamoDB) to PolicyGate's
 * errors: no HTTP answer, a 5xx or throttling become {@link TransientError} (the workflow retries them),
 * anything else {@link AwsOperationError} with the service's error name. AWS's message is cut to 200
 * characters, as it may echo what was sent. `quiet` keeps the message out entirely (Step Functions may
 * echo a task token).
 */
export function mapAwsError(operation: string, error: unknown, options: { quiet?: boolean } = {}): Error {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  if (
    status === undefined ||
    status >= 500 ||
    /Throttl|OverLimit|TooManyRequests|ProvisionedThroughputExceeded/i.test(name)
  ) {
    return new TransientError(`${operation} failed: ${name}`, options.quiet ? {} : { cause: error });
  }
  const message = options.quiet ? 'rejected' : (e.message ?? '').slice(0, 200);
  return new AwsOperationError(operation, name, message, options.quiet ? {} : { cause: error });
}
