import { IAMClient } from '@aws-sdk/client-iam';
import type { ApprovalStore } from '../../adapters/approval-store';
import { AwsIamGateway } from '../../adapters/iam-gateway';
import type { Config } from '../../config';
import { riskTest } from '../../domain/change-analysis';
import { QuarantineService } from '../../services/quarantine-service';
import type { RecordSeals } from '../../services/record-seals';

/** Quarantine and restore (IAM); a record counts as trusted only under a verifying decision seal. */
export function quarantineService(cfg: Config, store: ApprovalStore, seals: RecordSeals): QuarantineService {
  return new QuarantineService(new AwsIamGateway(new IAMClient({ region: cfg.region })), {
    index: store,
    isRisky: riskTest(cfg.restricted),
    trusts: async (record) => (await seals.check(record, { decision: true })).ok,
  });
}
