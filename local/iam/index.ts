export type { CloudTrailDetail, CloudTrailEvent, Identity } from './cloudtrail';
export { IamError, type IamErrorCode } from './errors';
export { IAM_OPERATION_NAMES, type IamOperationName } from './operations';
export { policySize, validatePolicyDocument } from './policy-document';
export {
  type CloudTrailListener,
  type DocumentEncoding,
  type ExportedIamServerState,
  type FaultCode,
  type IamServer,
  type IamServerOptions,
  startIamServer,
} from './server';
export {
  type BoundedKind,
  IAM_LIMITS,
  type IamStateSnapshot,
  type PolicySnapshot,
  type PolicyVersionSnapshot,
  type PrincipalKind,
  type PrincipalSnapshot,
} from './state';
export { encodePolicyDocument } from './xml';
