/**
 * Seals through the real KMS adapter against the KMS stand-in (its own HMACs): what verifies, what does
 * not, and that no failure of KMS ever reads as a valid seal.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { type LocalKmsServer, startKmsServer } from '../../local/kms/server';
import { KmsSealKey } from '../../src/adapters/kms-seal-key';
import type { ApprovalRecord, DecisionOutput } from '../../src/domain/approval';
import { AwsOperationError, ConfigError, TransientError } from '../../src/errors';
import { RecordSeals } from '../../src/services/record-seals';
import fixture from '../fixtures/approvals/record.json';

const RECORD = { ...(fixture as ApprovalRecord), status: 'PENDING' } as ApprovalRecord;
const DECISION: DecisionOutput = {
  decision: 'APPROVED',
  decidedBy: { id: 'U0ANA', name: 'Ana', channel: 'slack' },
  decidedAt: '2025-03-11T10:00:00.000Z',
  approvalId: RECORD.approvalId,
};

let kms: LocalKmsServer;
const clients: KMSClient[] = [];

function client(accessKeyId = 'AKIDANALYSE'): KMSClient {
  const c = new KMSClient({
    region: 'us-east-1',
    endpoint: kms.endpoint,
    credentials: { accessKeyId, secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  kms = await startKmsServer();
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await kms.close();
});

/** A fully sealed record (record, quarantine and decision seals), and the seals that made it. */
async function sealedRecord(): Promise<{ seals: RecordSeals; record: ApprovalRecord }> {
  const seals = new RecordSeals({
    record: new KmsSealKey(client(), kms.createKey().arn),
    decision: new KmsSealKey(client(), kms.createKey().arn),
  });
  let record: ApprovalRecord = { ...RECORD, recordSeal: await seals.sealRecord(RECORD) };
  record = { ...record, quarantineSeal: await seals.sealQuarantine(record) };
  record = {
    ...record,
    status: 'APPROVED',
    decision: DECISION,
    decisionSeal: await seals.sealDecision(record, DECISION),
  };
  return { seals, record };
}

describe('RecordSeals over KMS', () => {
  test('a record sealed by PolicyGate verifies, and keeps verifying as later steps set their fields', async () => {
    // Prepare
    const { seals, record } = await sealedRecord();
    // Act
    const check = await seals.check(
      { ...record, status: 'RESTORED', taskToken: 'x', updatedAt: 'later' },
      { decision: true },
    );
    // Assess
    expect(check).toEqual({ ok: true });
  });

  test.each([
    [
      'the original',
      (r: ApprovalRecord) => ({ ...r, original: { ...r.original, document: '{"Statement":[]}' } }),
      /record seal/,
    ],
    [
      'the actor',
      (r: ApprovalRecord) => ({ ...r, change: { ...r.change, actor: { type: 'IAMUser', userName: 'x' } } }),
      /record seal/,
    ],
    ['the deadline', (r: ApprovalRecord) => ({ ...r, deadline: '2099-01-01T00:00:00.000Z' }), /record seal/],
    ['the concerns', (r: ApprovalRecord) => ({ ...r, concerns: [] }), /quarantine seal/],
    [
      'the decider',
      (r: ApprovalRecord) => ({
        ...r,
        decision: { ...DECISION, decidedBy: { ...DECISION.decidedBy, id: 'U0MAL' } },
      }),
      /decision seal/,
    ],
    ['no decision seal', (r: ApprovalRecord) => ({ ...r, decisionSeal: undefined }), /not sealed/],
    ['no record seal', (r: ApprovalRecord) => ({ ...r, recordSeal: undefined }), /no record seal/],
    ['a malformed seal', (r: ApprovalRecord) => ({ ...r, recordSeal: 'not base64!' }), /record seal/],
  ])('a record with %s changed does not verify', async (_name, edit, problem) => {
    // Prepare
    const { seals, record } = await sealedRecord();
    // Act
    const check = await seals.check(edit(record) as ApprovalRecord, { decision: true });
    // Assess
    expect(check).toEqual({ ok: false, problem: expect.stringMatching(problem) });
  });

  test("a decision seal copied from another approval's record does not verify", async () => {
    // Prepare
    const a = await sealedRecord();
    const other = { ...RECORD, approvalId: 'other', executionId: 'other-execution' };
    // Act
    const check = await a.seals.check(
      { ...a.record, decisionSeal: await a.seals.sealDecision(other, DECISION) },
      { decision: true },
    );
    // Assess
    expect(check.ok).toBe(false);
  });

  test('a function that may only verify cannot make a seal: KMS refuses, nothing is sealed', async () => {
    // Prepare
    const key = kms.createKey({ generators: ['AKIDANALYSE'] });
    const restoreOnly = new RecordSeals({ record: new KmsSealKey(client('AKIDRESTORE'), key.arn) });
    // Act
    const attempt = restoreOnly.sealRecord(RECORD);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(AwsOperationError);
    await expect(attempt).rejects.toThrow(/AccessDeniedException/);
  });

  test('KMS failing is an error, never a seal that verifies', async () => {
    // Prepare
    const { seals, record } = await sealedRecord();
    kms.failNext(1);
    // Act / Assess
    await expect(seals.check(record)).rejects.toBeInstanceOf(TransientError);
  });

  test('a disabled key verifies nothing', async () => {
    // Prepare
    const key = kms.createKey();
    const seals = new RecordSeals({ record: new KmsSealKey(client(), key.arn) });
    const record = { ...RECORD, recordSeal: await seals.sealRecord(RECORD) };
    kms.disableKey(key.keyId);
    // Act / Assess
    await expect(seals.check(record)).rejects.toThrow(/DisabledException/);
  });

  test('without a key, sealing and checking fail closed', async () => {
    // Prepare
    const none = new RecordSeals({});
    // Act / Assess
    await expect(none.sealRecord(RECORD)).rejects.toBeInstanceOf(ConfigError);
    await expect(none.check({ ...RECORD, recordSeal: 'AAAA' })).rejects.toBeInstanceOf(ConfigError);
  });
});
