import fc from 'fast-check';
import type { ApprovalRecord, DecisionOutput } from '../../src/domain/approval';
import {
  canonicalJson,
  decisionSealMessage,
  quarantineSealMessage,
  recordSealMessage,
} from '../../src/domain/seal';
import fixture from '../fixtures/approvals/record.json';

const RECORD = fixture as ApprovalRecord;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** JSON values as DynamoDB keeps them (no undefined, finite numbers). */
const json = fc.jsonValue({ maxDepth: 4 });

function shuffled(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffled(v, seed + i));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  entries.sort(
    (a, b) => ((a[0].length * 31 + seed) % 7) - ((b[0].length * 31 + seed) % 7) || (a[0] < b[0] ? 1 : -1),
  );
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffled(v, seed + 1)]));
}

describe('canonicalJson', () => {
  test('equal content gives equal text whatever the key order', () => {
    fc.assert(
      fc.property(json, fc.integer(), (value, seed) => {
        expect(canonicalJson(shuffled(value, seed))).toBe(canonicalJson(value));
      }),
    );
  });

  test('parses back to the same value: nothing is lost or added', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe('seal messages', () => {
  test('the record seal covers every field set at creation, and no field a later step sets', () => {
    // Prepare
    const base = hex(recordSealMessage(RECORD));
    const created = [
      'approvalId',
      'createdAt',
      'deadline',
      'ttl',
      'executionId',
      'change',
      'findings',
      'original',
    ];
    const later = [
      'status',
      'updatedAt',
      'taskToken',
      'decision',
      'slackMessage',
      'outcome',
      'failure',
      'restore',
    ];
    // Act / Assess
    for (const field of created) {
      expect(hex(recordSealMessage({ ...RECORD, [field]: 'changed' } as unknown as ApprovalRecord))).not.toBe(
        base,
      );
    }
    for (const field of later) {
      expect(hex(recordSealMessage({ ...RECORD, [field]: 'changed' } as unknown as ApprovalRecord))).toBe(
        base,
      );
    }
  });

  test('any change to the original document changes the record seal message', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 50 }), (text) => {
        fc.pre(text !== RECORD.original.document);
        const edited = { ...RECORD, original: { ...RECORD.original, document: text } } as ApprovalRecord;
        expect(hex(recordSealMessage(edited))).not.toBe(hex(recordSealMessage(RECORD)));
      }),
    );
  });

  test('the quarantine seal covers the deleted versions, reach and concerns, chained to the record seal', () => {
    // Prepare
    const sealed = { ...RECORD, recordSeal: 'AAAA' };
    const base = hex(quarantineSealMessage(sealed));
    // Act / Assess
    expect(hex(quarantineSealMessage({ ...sealed, recordSeal: 'BBBB' }))).not.toBe(base);
    expect(hex(quarantineSealMessage({ ...sealed, concerns: ['x'] }))).not.toBe(base);
    expect(
      hex(
        quarantineSealMessage({
          ...sealed,
          quarantine: { appliedAt: 'x', deletedVersions: [{ versionId: 'v1', document: '{}' }] },
        }),
      ),
    ).not.toBe(base);
    expect(hex(quarantineSealMessage({ ...sealed, status: 'APPROVED', taskToken: 't' }))).toBe(base);
  });

  test('a decision seal message names the approval, execution, both seals and the decision', () => {
    // Prepare
    const decision: DecisionOutput = {
      decision: 'APPROVED',
      decidedBy: { id: 'U0ANA', name: 'Ana', channel: 'slack' },
      decidedAt: '2025-03-11T10:00:00.000Z',
      approvalId: RECORD.approvalId,
    };
    const sealed = { ...RECORD, recordSeal: 'AAAA', quarantineSeal: 'CCCC' };
    const base = hex(decisionSealMessage(sealed, decision));
    // Act / Assess
    expect(hex(decisionSealMessage({ ...sealed, quarantineSeal: 'DDDD' }, decision))).not.toBe(base);
    expect(hex(decisionSealMessage({ ...sealed, executionId: 'other' }, decision))).not.toBe(base);
    expect(hex(decisionSealMessage(sealed, { ...decision, decision: 'DENIED' }))).not.toBe(base);
    expect(
      hex(decisionSealMessage(sealed, { ...decision, decidedBy: { ...decision.decidedBy, id: 'U0MAL' } })),
    ).not.toBe(base);
    // KMS MACs at most 4,096 bytes: the message is a digest, whatever the record's size.
    expect(decisionSealMessage(sealed, decision).length).toBeLessThan(200);
  });
});
