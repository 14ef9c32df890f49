export {
  type AdvancedEventSelector,
  type AdvancedFieldSelector,
  type EventSelector,
  type LocalCloudTrailServer,
  type RecordEventOptions,
  type StartCloudTrailServerOptions,
  startCloudTrailServer,
  type TrailInput,
} from './server';
