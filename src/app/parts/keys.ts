import { KMSClient } from '@aws-sdk/client-kms';
import { KmsSealKey } from '../../adapters/kms-seal-key';
import type { Config } from '../../config';
import { DecisionLinks, type EmailLinkSettings, type FormNonceStore } from '../../services/decision-links';
import { RecordSeals } from '../../services/record-seals';

/**
 * The KMS client, when the function has any key's id: a function without a key's id cannot use that key;
 * the stack gives each function only what it uses.
 */
export function kmsClient(cfg: Config): KMSClient | undefined {
  const { emailDecisions } = cfg;
  return cfg.recordSealKeyId || cfg.decisionSealKeyId || emailDecisions.linkKeyId || emailDecisions.formKeyId
    ? new KMSClient({ region: cfg.region })
    : undefined;
}

/** The record, quarantine and decision seals, with the keys this function was given. */
export function recordSeals(cfg: Config, kms: KMSClient | undefined): RecordSeals {
  return new RecordSeals({
    ...(kms && cfg.recordSealKeyId && { record: new KmsSealKey(kms, cfg.recordSealKeyId) }),
    ...(kms && cfg.decisionSealKeyId && { decision: new KmsSealKey(kms, cfg.decisionSealKeyId) }),
  });
}

/**
 * The e-mail decision links. The request-approval function signs links (GenerateMac on the link key); the
 * page verifies them and alone makes and checks form tokens (the form key). The key policies enforce who
 * does which.
 */
export function decisionLinks(
  cfg: Config,
  kms: KMSClient | undefined,
  nonces: FormNonceStore,
): DecisionLinks {
  const { emailDecisions } = cfg;
  return new DecisionLinks({
    ...(kms && emailDecisions.linkKeyId && { linkKey: new KmsSealKey(kms, emailDecisions.linkKeyId) }),
    ...(kms && emailDecisions.formKeyId && { formKey: new KmsSealKey(kms, emailDecisions.formKeyId) }),
    ...(emailDecisions.pageUrl && { pageUrl: emailDecisions.pageUrl }),
    nonces,
  });
}

/** The links the approval e-mail carries, and the stage's e-mail decision settings. */
export function emailLinks(
  cfg: Config,
  links: DecisionLinks,
): { links: DecisionLinks; settings: EmailLinkSettings } {
  const { emailDecisions } = cfg;
  return {
    links,
    settings: {
      mode: emailDecisions.mode,
      ...(emailDecisions.address && { address: emailDecisions.address }),
    },
  };
}
