export {
  type IssuedSession,
  type LocalStsServer,
  type StsServerOptions,
  startStsServer,
} from './server';
