import type { AwsLambdaReceiver } from '@slack/bolt';

/** Bolt's Lambda handler and its event/response types (Bolt exports the receiver, not these names). */
export type AwsHandler = ReturnType<AwsLambdaReceiver['toHandler']>;
export type AwsEvent = Parameters<AwsHandler>[0];
export type AwsResponse = Awaited<ReturnType<AwsHandler>>;
