export { md5OfBody, md5OfMessageAttributes, type SqsAttributeValue } from './checksums';
export {
  type EventBridgeDeadLetter,
  eventBridgeDeadLetterAttributes,
  type LocalSqsServer,
  type SqsAttributeInput,
  type SqsFaultCode,
  type SqsMessageSnapshot,
  type SqsQueueConfig,
  type StartSqsServerOptions,
  startSqsServer,
} from './server';
