import type { SealKey } from '../adapters/kms-seal-key';
import type { ApprovalRecord, DecisionOutput } from '../domain/approval';
import {
  approvalsSealMessage,
  decisionSealMessage,
  quarantineSealMessage,
  recordSealMessage,
} from '../domain/seal';
import { ConfigError } from '../errors';

/** The two seal keys: the record key (AnalyseChange generates) and the decision key (the deciders generate). */
export interface SealKeys {
  readonly record?: SealKey;
  readonly decision?: SealKey;
}

/** What a check of a record's seals found. */
export type SealCheck = { readonly ok: true } | { readonly ok: false; readonly problem: string };

/** Which seals a check requires: the decision seal only once there is a decision to trust. */
export interface SealRequirements {
  readonly quarantine?: boolean;
  readonly decision?: boolean;
}

/**
 * Makes and checks an approval's seals (see `domain/seal.ts`). A function without the key it needs fails
 * closed with a ConfigError: nothing is ever written back on an unchecked record.
 */
export class RecordSeals {
  constructor(private readonly keys: SealKeys) {}

  /** AnalyseChange: the seal of a record about to be created. */
  async sealRecord(record: ApprovalRecord): Promise<string> {
    return this.key('record').generate(recordSealMessage(record));
  }

  /** AnalyseChange: the seal of a record's quarantine, reach and concerns, as the store returned them. */
  async sealQuarantine(record: ApprovalRecord): Promise<string> {
    return this.key('record').generate(quarantineSealMessage(record));
  }

  /** The deciding function: the seal of the approvals counted so far and the attribution it found. */
  async sealApprovals(
    record: ApprovalRecord,
    approvals: readonly DecisionOutput[],
    reattribution: ApprovalRecord['reattribution'],
  ): Promise<string> {
    return this.key('decision').generate(approvalsSealMessage(record, approvals, reattribution));
  }

  /** The deciding function: the seal of its decision on `record`. */
  async sealDecision(record: ApprovalRecord, decision: DecisionOutput): Promise<string> {
    return this.key('decision').generate(decisionSealMessage(record, decision));
  }

  /**
   * Whether the record's seals verify against the record as read: always the record seal, and the
   * quarantine and decision seals when `require` asks. A missing seal is a failed check, never a pass.
   */
  async check(record: ApprovalRecord, require: SealRequirements = {}): Promise<SealCheck> {
    const { recordSeal, quarantineSeal, decisionSeal, decision } = record;
    if (recordSeal === undefined) return { ok: false, problem: 'the record has no record seal' };
    if (!(await this.key('record').verify(recordSealMessage(record), recordSeal))) {
      return {
        ok: false,
        problem: 'the record seal does not match the record: it was changed after creation',
      };
    }
    if (require.quarantine || require.decision) {
      if (quarantineSeal === undefined) return { ok: false, problem: 'the record has no quarantine seal' };
      if (!(await this.key('record').verify(quarantineSealMessage(record), quarantineSeal))) {
        return {
          ok: false,
          problem:
            'the quarantine seal does not match the record: its quarantine, reach or concerns were changed',
        };
      }
    }
    // Approvals counted (and an attribution found) at a click, while no decision covers them yet.
    // (Once decided, the decision seal covers them instead.)
    const counted =
      record.decision === undefined &&
      ((record.approvals?.length ?? 0) > 0 || record.reattribution !== undefined);
    if (require.quarantine && !require.decision && counted) {
      const { approvalsSeal } = record;
      if (
        approvalsSeal === undefined ||
        !(await this.key('decision').verify(
          approvalsSealMessage(record, record.approvals ?? [], record.reattribution),
          approvalsSeal,
        ))
      ) {
        return { ok: false, problem: 'the approvals so far are not sealed as PolicyGate counted them' };
      }
    }
    if (require.decision) {
      if (decision === undefined || decisionSeal === undefined) {
        return { ok: false, problem: 'the decision is not sealed' };
      }
      if (!(await this.key('decision').verify(decisionSealMessage(record, decision), decisionSeal))) {
        return {
          ok: false,
          problem: 'the decision seal does not match: the decision was not taken by PolicyGate as recorded',
        };
      }
    }
    return { ok: true };
  }

  private key(which: keyof SealKeys): SealKey {
    const key = this.keys[which];
    if (!key) {
      throw new ConfigError(
        `no ${which} seal key is configured (${which === 'record' ? 'RECORD_SEAL_KEY_ID' : 'DECISION_SEAL_KEY_ID'})`,
      );
    }
    return key;
  }
}
