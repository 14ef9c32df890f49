import { type ApprovalRecord, quarantineDocument } from '../../src/domain/approval';
import { ownWriteFor, RESTORE_WINDOW_SLACK_MS } from '../../src/domain/own-writes';
import type { PolicyChange } from '../../src/domain/policy-change';
import fixture from '../fixtures/approvals/record.json';

const RECORD = fixture as ApprovalRecord;
const ORIGINAL = RECORD.original as Extract<ApprovalRecord['original'], { kind: 'managed-policy' }>;
const POLICY = ORIGINAL.policyArn;
const STARTED = '2025-03-11T12:00:00.000Z';
const FINISHED = '2025-03-11T12:00:02.000Z';

function change(overrides: Partial<PolicyChange>): PolicyChange {
  return {
    ...RECORD.change,
    eventTime: '2025-03-11T12:00:01Z',
    madeByOwnRole: 'arn:aws:iam::1:role/pg',
    ...overrides,
  };
}

function restoring(record: ApprovalRecord = RECORD): ApprovalRecord {
  return { ...record, status: 'RESTORING', restore: { executionId: record.executionId, startedAt: STARTED } };
}

function restored(record: ApprovalRecord = RECORD): ApprovalRecord {
  return {
    ...record,
    status: 'RESTORED',
    restore: { executionId: record.executionId, startedAt: STARTED, finishedAt: FINISHED },
  };
}

const INLINE: ApprovalRecord = {
  ...RECORD,
  original: {
    kind: 'inline-policy',
    principalType: 'role',
    principalName: 'App',
    policyName: 'cleanup',
    document: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
  },
};
const INLINE_TARGET = {
  kind: 'inline-policy',
  principalType: 'role',
  principalName: 'app',
  policyName: 'Cleanup',
} as const;

describe('ownWriteFor: a managed policy', () => {
  test('the quarantine version of this approval is its quarantine, whatever the state', () => {
    // Prepare
    const write = change({
      eventName: 'CreatePolicyVersion',
      target: { kind: 'managed-policy', policyArn: POLICY.toUpperCase() },
      document: quarantineDocument(RECORD.approvalId),
    });
    // Act / Assess
    for (const status of ['PENDING', 'APPROVED', 'DENIED', 'EXPIRED'] as const) {
      expect(ownWriteFor(write, { ...RECORD, status })).toBe('quarantine');
    }
  });

  test("another approval's quarantine document, or any other document, is not this approval's write", () => {
    // Prepare
    const other = change({
      eventName: 'CreatePolicyVersion',
      target: { kind: 'managed-policy', policyArn: POLICY },
      document: quarantineDocument('another-approval'),
    });
    const grant = { ...other, document: ORIGINAL.document };
    // Act / Assess
    expect(ownWriteFor(other, RECORD)).toBeUndefined();
    expect(ownWriteFor(grant, restoring())).toBeUndefined();
  });

  test('setting the reviewed version default is a restore only while restoring or just after', () => {
    // Prepare
    const write = change({
      eventName: 'SetDefaultPolicyVersion',
      target: { kind: 'managed-policy', policyArn: POLICY },
      versionId: ORIGINAL.offendingVersionId,
    });
    const late = {
      ...write,
      eventTime: new Date(Date.parse(FINISHED) + RESTORE_WINDOW_SLACK_MS + 1000).toISOString(),
    };
    const early = { ...write, eventTime: '2025-03-11T11:59:00Z' };
    // Act / Assess
    expect(ownWriteFor(write, restoring())).toBe('restore');
    expect(ownWriteFor(write, restored())).toBe('restore');
    expect(ownWriteFor(late, restored())).toBeUndefined();
    expect(ownWriteFor(early, restoring())).toBeUndefined();
    expect(ownWriteFor(write, { ...RECORD, status: 'APPROVED' })).toBeUndefined();
    expect(ownWriteFor({ ...write, versionId: 'v9' }, restoring())).toBeUndefined();
  });
});

describe('ownWriteFor: an inline policy', () => {
  test('the quarantine document on the same principal and name (any case) is the quarantine', () => {
    // Prepare
    const write = change({
      eventName: 'PutRolePolicy',
      target: INLINE_TARGET,
      document: quarantineDocument(INLINE.approvalId),
    });
    // Act / Assess
    expect(ownWriteFor(write, INLINE)).toBe('quarantine');
    expect(
      ownWriteFor({ ...write, target: { ...INLINE_TARGET, principalType: 'user' } }, INLINE),
    ).toBeUndefined();
    expect(
      ownWriteFor({ ...write, target: { ...INLINE_TARGET, policyName: 'other' } }, INLINE),
    ).toBeUndefined();
    expect(ownWriteFor({ ...write, eventName: 'DeleteRolePolicy' }, INLINE)).toBeUndefined();
  });

  test('the reviewed document is a restore only during the restore; another document never', () => {
    // Prepare
    const original = INLINE.original as Extract<ApprovalRecord['original'], { kind: 'inline-policy' }>;
    const write = change({ eventName: 'PutRolePolicy', target: INLINE_TARGET, document: original.document });
    const admin = {
      ...write,
      document: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
    };
    // Act / Assess
    expect(ownWriteFor(write, restoring(INLINE))).toBe('restore');
    expect(ownWriteFor(write, { ...INLINE, status: 'PENDING' })).toBeUndefined();
    expect(ownWriteFor(write, { ...INLINE, status: 'APPROVED' })).toBeUndefined();
    expect(ownWriteFor(admin, restoring(INLINE))).toBeUndefined();
    expect(ownWriteFor({ ...write, document: undefined }, restoring(INLINE))).toBeUndefined();
  });
});

describe('ownWriteFor: attachments and memberships', () => {
  const ATTACHMENT: ApprovalRecord = {
    ...RECORD,
    original: {
      kind: 'attachment',
      principalType: 'role',
      principalName: 'dev',
      policyArn: POLICY,
      versionId: 'v1',
      document: ORIGINAL.document,
    },
  };
  const target = {
    kind: 'attachment',
    principalType: 'role',
    principalName: 'Dev',
    policyArn: POLICY,
  } as const;

  test('the detach is the quarantine; the attach only a restore during the restore', () => {
    // Act / Assess
    expect(ownWriteFor(change({ eventName: 'DetachRolePolicy', target }), ATTACHMENT)).toBe('quarantine');
    expect(ownWriteFor(change({ eventName: 'AttachRolePolicy', target }), restoring(ATTACHMENT))).toBe(
      'restore',
    );
    expect(ownWriteFor(change({ eventName: 'AttachRolePolicy', target }), ATTACHMENT)).toBeUndefined();
    expect(
      ownWriteFor(
        change({ eventName: 'AttachRolePolicy', target: { ...target, policyArn: `${POLICY}2` } }),
        restoring(ATTACHMENT),
      ),
    ).toBeUndefined();
  });

  test('adding the user back to the group is a restore only during the restore', () => {
    // Prepare
    const membership: ApprovalRecord = {
      ...RECORD,
      original: {
        kind: 'group-membership',
        groupName: 'Admins',
        userName: 'dev',
        grants: [],
        document: '{}',
      },
    };
    const write = change({
      eventName: 'AddUserToGroup',
      target: { kind: 'group-membership', groupName: 'admins', userName: 'DEV' },
    });
    // Act / Assess
    expect(ownWriteFor(write, restoring(membership))).toBe('restore');
    expect(ownWriteFor(write, membership)).toBeUndefined();
    expect(
      ownWriteFor(
        { ...write, target: { kind: 'group-membership', groupName: 'Other', userName: 'dev' } },
        restoring(membership),
      ),
    ).toBeUndefined();
  });

  test('PolicyGate never writes boundaries or trust policies', () => {
    // Act / Assess
    expect(
      ownWriteFor(
        change({ eventName: 'UpdateAssumeRolePolicy', target: { kind: 'trust-policy', roleName: 'x' } }),
        restoring(),
      ),
    ).toBeUndefined();
  });
});
