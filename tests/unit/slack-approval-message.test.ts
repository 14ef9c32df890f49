import { analysePolicy, type Finding } from '../../src/domain/analyse-policy';
import type {
  ApprovalRecord,
  ApprovalStatus,
  DecisionOutput,
  OutcomeResult,
} from '../../src/domain/approval';
import { loadGeneratedCatalogue } from '../../src/domain/catalogue-data';
import type { ChangeTarget } from '../../src/domain/policy-change';
import { parsePolicyDocument } from '../../src/domain/policy-document';
import {
  defaultRestrictedEntries,
  type RestrictedActionSet,
  resolveRestrictedActions,
} from '../../src/domain/restricted-actions';
import {
  APPROVE_ACTION_ID,
  approvalRequestMessage,
  auditReply,
  consoleUrl,
  DECISION_BLOCK_ID,
  DENY_ACTION_ID,
  decisionHeadline,
  escapeMrkdwn,
  resolvedMessage,
  type SlackMessage,
} from '../../src/slack/messages/approval-message';
import fixture from '../fixtures/approvals/record.json';
import { blockKitProblems, mrkdwnProblems, mrkdwnTexts } from '../support/block-kit-limits';
import { loadCorpus } from '../support/corpus';

const RECORD = fixture as ApprovalRecord;
const NOW = new Date('2025-03-11T10:00:00.000Z');
const catalogue = loadGeneratedCatalogue();
const restricted = resolveRestrictedActions(defaultRestrictedEntries(), catalogue);

type Json = Record<string, unknown>;

/** Every problem a message has: Block Kit limits broken, or mrkdwn that could act on its own. */
function problems(message: SlackMessage): string[] {
  return [
    ...blockKitProblems(message),
    ...mrkdwnTexts(message).flatMap((text) =>
      mrkdwnProblems(text).map((p) => `${p} in ${text.slice(0, 60)}`),
    ),
  ];
}

function sectionTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block) => (block.type === 'section' && block.text ? [block.text.text] : []));
}

function buttons(message: SlackMessage): Json[] {
  const found: Json[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      if ((value as Json).type === 'button') found.push(value as Json);
      Object.values(value).forEach(walk);
    }
  };
  walk(message.blocks);
  return found;
}

/** The findings part: the sections between the divider and the policy view. */
function findingsText(message: SlackMessage): string {
  const start = message.blocks.findIndex((block) => block.type === 'divider');
  const texts: string[] = [];
  for (const block of message.blocks.slice(start + 1)) {
    if (block.type !== 'section' || !block.text) break;
    if (block.text.text.startsWith('*Policy under review*')) break;
    texts.push(block.text.text);
  }
  return texts.join('\n');
}

/** Actions listed in the findings (the lines that are lists of `action`s) and the "N more" count. */
function listedFindings(message: SlackMessage): { listed: string[]; more: number } {
  const text = findingsText(message);
  const listed = text
    .split('\n')
    .filter((line) => line.startsWith('`'))
    .flatMap((line) => [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string));
  const more = /… and ([\d,]+) more restricted actions?/.exec(text);
  return { listed, more: more ? Number((more[1] as string).replace(/,/g, '')) : 0 };
}

const unescapeMrkdwn = (text: string) =>
  text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The policy view: the code block's text (unescaped) and how many characters it says were cut. */
function policyView(message: SlackMessage): { shown: string; cut: number; fences: number } {
  const text = sectionTexts(message).find((t) => t.startsWith('*Policy under review*'));
  if (!text) throw new Error('no policy view');
  const start = text.indexOf('```') + 3;
  const end = text.lastIndexOf('```');
  const cut = /… \(([\d,]+) more characters?\) cut/.exec(text);
  return {
    shown: unescapeMrkdwn(text.slice(start, end)),
    cut: cut ? Number((cut[1] as string).replace(/,/g, '')) : 0,
    fences: text.split('```').length - 1,
  };
}

function withTarget(record: ApprovalRecord, target: ChangeTarget): ApprovalRecord {
  return { ...record, change: { ...record.change, target } };
}

function recordFor(
  name: string,
  document: unknown,
  versionId: string,
  set: RestrictedActionSet,
): ApprovalRecord {
  const policyArn = `arn:aws:iam::aws:policy/${name}`;
  return {
    ...withTarget(RECORD, { kind: 'managed-policy', policyArn, policyName: name }),
    findings: analysePolicy(parsePolicyDocument(document), set),
    original: {
      kind: 'managed-policy',
      policyArn,
      offendingVersionId: versionId,
      document: JSON.stringify(document),
    },
  };
}

const DECISION: DecisionOutput = {
  decision: 'APPROVED',
  decidedBy: { id: 'U012ABCDEF', name: 'Alice Example', channel: 'slack' },
  decidedAt: '2025-03-11T10:05:00.000Z',
  approvalId: RECORD.approvalId,
};

/** The record in each state a resolved message is shown for. */
function resolvedRecords(record: ApprovalRecord): ApprovalRecord[] {
  const at = '2025-03-11T10:06:00.000Z';
  const outcome = (result: OutcomeResult, detail?: string) => ({ result, at, ...(detail && { detail }) });
  const states: [ApprovalStatus, Partial<ApprovalRecord>][] = [
    ['APPROVED', { decision: DECISION, outcome: outcome('RESTORED') }],
    ['DENIED', { decision: { ...DECISION, decision: 'DENIED' }, outcome: outcome('KEPT_QUARANTINED') }],
    ['EXPIRED', { outcome: outcome('EXPIRED', 'no decision before the deadline') }],
    ['CONFLICT', { decision: DECISION, outcome: outcome('CONFLICT', 'the policy changed while waiting') }],
    ['FAILED', { failure: { error: 'PolicyGate.AwsOperationError', cause: 'AccessDenied', at } }],
  ];
  return states.map(([status, extra]) => ({ ...record, status, ...extra }));
}

describe('approvalRequestMessage', () => {
  test('the fixture record gives a valid message that names the change, actor, findings and state', () => {
    // Act
    const message = approvalRequestMessage(RECORD, { now: NOW });
    // Assess
    expect(problems(message)).toEqual([]);
    const text = sectionTexts(message).join('\n');
    for (const fact of [
      'CreatePolicyVersion',
      'arn:aws:iam::111122223333:policy/PlatformEngineers',
      '111122223333',
      'us-east-1',
      RECORD.change.actor.arn as string,
      '203.0.113.77',
      'AWS Internal',
      'EverythingButIam',
      's3:DeleteBucket',
      'kms:ScheduleKeyDeletion',
      'unconditional',
      'Quarantined',
      'Expires',
    ]) {
      expect(text).toContain(fact);
    }
    expect(message.text).toContain('CreatePolicyVersion');
    expect(message.text).toContain('2 restricted actions');
  });

  test('times use Slack date formatting with the ISO time as fallback', () => {
    // Act
    const text = sectionTexts(approvalRequestMessage(RECORD, { now: NOW })).join('\n');
    // Assess
    for (const iso of [RECORD.change.eventTime, RECORD.deadline, RECORD.quarantine?.appliedAt as string]) {
      const epoch = Math.floor(Date.parse(iso) / 1000);
      expect(text).toContain(`<!date^${epoch}^{date_short_pretty} {time}|${new Date(iso).toISOString()}>`);
    }
  });

  test.each([
    [NOW, 'in about 24 hours'],
    [new Date('2025-03-12T09:13:20.118Z'), 'in 30 minutes'],
    [new Date('2025-03-13T00:00:00.000Z'), 'already past'],
  ])('at %s the expiry reads "%s"', (now, phrase) => {
    expect(sectionTexts(approvalRequestMessage(RECORD, { now })).join('\n')).toContain(phrase);
  });

  test('Approve (primary) and Deny (danger) carry exactly the approval id and ask for confirmation', () => {
    // Act
    const message = approvalRequestMessage(RECORD, { now: NOW });
    // Assess
    const actions = message.blocks.filter((block) => block.type === 'actions');
    expect(actions).toHaveLength(1);
    expect(actions[0]?.block_id).toBe(DECISION_BLOCK_ID);
    const byId = new Map(buttons(message).map((b) => [b.action_id, b]));
    for (const [actionId, style] of [
      [APPROVE_ACTION_ID, 'primary'],
      [DENY_ACTION_ID, 'danger'],
    ] as const) {
      const button = byId.get(actionId) as Json;
      expect(button.value).toBe(RECORD.approvalId);
      expect(button.style).toBe(style);
      const confirm = button.confirm as Json;
      expect(confirm.style).toBe(style);
      expect(confirm.title).toBeDefined();
      expect(confirm.confirm).toBeDefined();
      expect(confirm.deny).toBeDefined();
    }
    const withValues = buttons(message).filter((b) => b.value !== undefined);
    expect(withValues.map((b) => b.value)).toEqual([RECORD.approvalId, RECORD.approvalId]);
  });

  test('a link button opens the changed policy in the AWS console', () => {
    // Act
    const links = buttons(approvalRequestMessage(RECORD, { now: NOW })).filter((b) => b.url !== undefined);
    // Assess
    expect(links.map((b) => b.url)).toEqual([consoleUrl(RECORD.change.target)]);
  });

  test('an analysis error is shown prominently, before the change details', () => {
    // Prepare
    const record = {
      ...RECORD,
      findings: [],
      analysisError: 'Statement[0].Effect: must be "Allow" or "Deny"',
    };
    // Act
    const message = approvalRequestMessage(record, { now: NOW });
    // Assess
    expect(problems(message)).toEqual([]);
    const first = sectionTexts(message)[0] as string;
    expect(first).toContain('could not be analysed');
    expect(first).toContain('Statement[0].Effect: must be "Allow" or "Deny"');
    expect(message.text).toContain('could not be analysed');
  });
});

describe('every AWS managed policy of the corpus', () => {
  const corpus = loadCorpus();

  test('yields valid request and resolved messages that account for every finding and character', () => {
    // Prepare
    const failures: string[] = [];
    // Act
    for (const [name, policy] of Object.entries(corpus)) {
      const record = recordFor(name, policy.document, policy.versionId, restricted);
      const request = approvalRequestMessage(record, { now: NOW });
      const resolved = resolvedMessage({ ...record, status: 'DENIED' }, 'Denied by <@U012ABCDEF>');
      for (const [kind, message] of [
        ['request', request],
        ['resolved', resolved],
      ] as const) {
        failures.push(...problems(message).map((p) => `${name} ${kind}: ${p}`));
      }
      // Assess (collected): the findings listed plus those said to be cut are exactly the findings.
      const { listed, more } = listedFindings(request);
      const actions = record.findings.map((f) => f.action);
      if (listed.length + more !== actions.length || listed.some((a) => !actions.includes(a))) {
        failures.push(`${name}: ${listed.length} listed + ${more} cut != ${actions.length} findings`);
      }
      // The policy view is a prefix of the pretty-printed document, and says how much is missing.
      const pretty = JSON.stringify(policy.document, null, 2);
      const view = policyView(request);
      if (
        !pretty.startsWith(view.shown) ||
        view.shown.length + view.cut !== pretty.length ||
        view.fences !== 2
      ) {
        failures.push(
          `${name}: policy view shows ${view.shown.length}, says ${view.cut} cut, of ${pretty.length}`,
        );
      }
    }
    // Assess
    expect(failures).toEqual([]);
  });

  test('AdministratorAccess lists all default restricted actions (they fit)', () => {
    // Prepare
    const admin = corpus.AdministratorAccess;
    if (!admin) throw new Error('AdministratorAccess is not in the corpus');
    const record = recordFor('AdministratorAccess', admin.document, admin.versionId, restricted);
    // Act
    const { listed, more } = listedFindings(approvalRequestMessage(record, { now: NOW }));
    // Assess
    expect(more).toBe(0);
    expect(listed).toEqual(restricted.actions.map((a) => a.action));
  });

  test('AdministratorAccess against a wide restricted list says how many actions were cut', () => {
    // Prepare
    const wide = resolveRestrictedActions(
      ['iam:*', 's3:*', 'ec2:*', 'kms:*', 'organizations:*'].map((action) => ({ action })),
      catalogue,
    );
    const admin = corpus.AdministratorAccess;
    if (!admin) throw new Error('AdministratorAccess is not in the corpus');
    const record = recordFor('AdministratorAccess', admin.document, admin.versionId, wide);
    // Act
    const message = approvalRequestMessage(record, { now: NOW });
    // Assess
    expect(problems(message)).toEqual([]);
    const { listed, more } = listedFindings(message);
    expect(record.findings.length).toBeGreaterThan(1000);
    expect(more).toBeGreaterThan(0);
    expect(listed.length + more).toBe(record.findings.length);
    expect(listed).toEqual(record.findings.slice(0, listed.length).map((f) => f.action));
  });
});

describe('a huge, hostile change', () => {
  const longName = `${'<!channel>'.repeat(100)}${'n'.repeat(1000)}`; // 2,000 characters
  const document = JSON.stringify({
    Version: '2012-10-17',
    Statement: Array.from({ length: 60 }, (_, i) => ({
      Sid: `Statement${i}`,
      Effect: 'Allow',
      Action: ['s3:DeleteBucket', 'iam:PassRole', `ec2:Describe${i}*`],
      Resource: [`arn:aws:s3:::bucket-${i}-${'x'.repeat(40)}`],
    })),
  });
  const findings: Finding[] = Array.from({ length: 500 }, (_, i) => ({
    action: `svc${i}:DoSomethingRisky`,
    conditional: i % 2 === 0,
    statements: Array.from({ length: 4 }, (_, j) => ({
      index: i + j,
      sid: `Sid${i}-${j}-${'s'.repeat(200)}`,
      matchedBy: `NotAction (every action except ${'a:b, '.repeat(100)})`,
      resources: Array.from({ length: 5 }, () => `arn:aws:s3:::${'r'.repeat(300)}`),
    })),
  }));
  const huge: ApprovalRecord = {
    ...RECORD,
    change: {
      ...RECORD.change,
      actor: {
        ...RECORD.change.actor,
        arn: `arn:aws:sts::111122223333:assumed-role/${'R'.repeat(3000)}`,
        sessionName: 'S'.repeat(1000),
      },
      sourceIp: '1'.repeat(500),
      userAgent: `aws-cli/2.15 ${'U'.repeat(5000)}`,
      target: { kind: 'inline-policy', principalType: 'role', principalName: longName, policyName: longName },
    },
    findings,
    analysisError: `grammar not understood: ${'E'.repeat(5000)}`,
    original: {
      kind: 'inline-policy',
      principalType: 'role',
      principalName: longName,
      policyName: longName,
      document,
    },
  };

  test('still yields valid messages, saying what was cut', () => {
    // Act
    const request = approvalRequestMessage(huge, { now: NOW });
    const resolved = resolvedRecords(huge).map((r) => resolvedMessage(r, `Denied ${'x'.repeat(10_000)}`));
    // Assess
    expect(document.length).toBeGreaterThan(6000);
    for (const message of [request, ...resolved]) expect(problems(message)).toEqual([]);
    const text = sectionTexts(request).join('\n');
    expect(text).toMatch(/more characters\) cut; the full document is in the approval record/);
    const { listed, more } = listedFindings(request);
    expect(more).toBeGreaterThan(0);
    expect(listed.length + more).toBe(findings.length);
    // The user agent is cut and says by how much.
    expect(text).toMatch(/\*User agent:\* `aws-cli\/2\.15 U+`… \([\d,]+ more characters\)/);
  });

  test('with every text field of the record at thousands of characters, messages stay valid', () => {
    // Prepare: the worst case for the fixed parts, which leave the findings and policy view least room.
    const long = (n: number, c = '&') => c.repeat(n);
    const extreme: ApprovalRecord = {
      ...huge,
      status: 'FAILED',
      deadline: long(900, 'd'),
      change: {
        ...huge.change,
        eventId: long(900),
        requestId: long(900),
        accountId: long(900),
        region: long(900),
        eventTime: long(900),
        versionId: long(900),
        actor: {
          type: long(900),
          arn: long(900),
          sessionName: long(900),
          sessionIssuer: { type: 'Role', arn: long(900, '<') },
          invokedBy: long(900),
          accessKeyId: long(900),
          mfaAuthenticated: true,
        },
        target: {
          kind: 'attachment',
          principalType: 'role',
          principalName: long(3000),
          policyArn: long(3000, '>'),
        },
      },
      decision: {
        ...DECISION,
        decidedBy: { id: long(900), name: long(900), channel: 'email' },
        decidedAt: long(900),
      },
      outcome: { result: 'FAILED', at: long(900), detail: long(9000) },
      failure: { error: long(900), cause: long(9000), at: long(900) },
      quarantine: { appliedAt: long(900), quarantineVersionId: long(900) },
      original: { ...huge.original, document: long(20_000) },
    };
    // Act
    const messages = [
      approvalRequestMessage(extreme, { now: NOW }),
      resolvedMessage(extreme, long(20_000, 'h')),
    ];
    // Assess
    for (const message of messages) expect(problems(message)).toEqual([]);
  });

  test('the console link stays a valid URL within the button limit', () => {
    // Act
    const links = buttons(approvalRequestMessage(huge, { now: NOW })).filter((b) => b.url !== undefined);
    // Assess
    expect(links).toHaveLength(1);
    expect(String(links[0]?.url).length).toBeLessThanOrEqual(3000);
    expect(() => new URL(String(links[0]?.url))).not.toThrow();
  });
});

describe('mrkdwn injection from the event', () => {
  const evilDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Break```out<!channel>',
        Effect: 'Allow',
        Action: 's3:DeleteBucket',
        Resource: 'arn:aws:s3:::```\n<https://evil.example|click>`',
      },
    ],
  };
  const evil: ApprovalRecord = {
    ...withTarget(RECORD, {
      kind: 'attachment',
      principalType: 'user',
      principalName: 'bob<!here>',
      policyArn: 'arn:aws:iam::111122223333:policy/<!channel>',
    }),
    change: {
      ...RECORD.change,
      target: {
        kind: 'attachment',
        principalType: 'user',
        principalName: 'bob<!here>',
        policyArn: 'arn:aws:iam::111122223333:policy/<!channel>',
      },
      userAgent: '<!everyone> <https://evil.example|Click to approve> `code` & more\n*bold*',
      actor: { ...RECORD.change.actor, sessionName: '<@U0ADMIN> ```' },
    },
    findings: [
      {
        action: 's3:DeleteBucket',
        conditional: false,
        statements: [
          { index: 0, sid: 'Break```out<!channel>', matchedBy: '<!subteam^S123>', resources: ['```'] },
        ],
      },
    ],
    analysisError: 'could not parse <!channel> ```',
    original: {
      kind: 'attachment',
      principalType: 'user',
      principalName: 'bob<!here>',
      policyArn: 'arn:aws:iam::111122223333:policy/<!channel>',
      versionId: 'v1',
      document: JSON.stringify(evilDocument),
    },
  };
  const messages = () => [
    approvalRequestMessage(evil, { now: NOW }),
    ...resolvedRecords(evil).map((r) => resolvedMessage(r, `<!channel> ${decisionHeadline(DECISION)}`)),
  ];

  test('no mention, link or code-block break-out survives', () => {
    for (const message of messages()) {
      // Assess
      expect(problems(message)).toEqual([]);
      const json = JSON.stringify(message);
      for (const active of ['<!channel>', '<!here>', '<!everyone>', '<!subteam', '<https://', '<@U0ADMIN>']) {
        expect(json).not.toContain(active);
      }
    }
  });

  test('the policy view keeps the document exact: backticks become JSON escapes', () => {
    // Act
    const view = policyView(approvalRequestMessage(evil, { now: NOW }));
    // Assess
    expect(view.fences).toBe(2);
    expect(view.shown).not.toContain('`');
    expect(JSON.parse(view.shown)).toEqual(evilDocument);
  });

  test('a document that is not JSON is shown with its backticks defused', () => {
    // Prepare
    const record = { ...evil, original: { ...evil.original, document: 'not json ```\n<!channel>' } };
    // Act
    const message = approvalRequestMessage(record, { now: NOW });
    // Assess
    expect(problems(message)).toEqual([]);
    const view = policyView(message);
    expect(view.fences).toBe(2);
    expect(view.shown).toBe('not json ˋˋˋ\n<!channel>');
    expect(sectionTexts(message).join('\n')).toContain('not valid JSON');
  });

  test('a decision headline keeps the decider mention and dates but defuses special mentions', () => {
    // Act
    const message = resolvedMessage(
      { ...RECORD, status: 'APPROVED', decision: DECISION },
      `<!here> ${decisionHeadline(DECISION)}, restoring the change`,
    );
    // Assess
    expect(problems(message)).toEqual([]);
    const headline = sectionTexts(message)[0] as string;
    expect(headline).toContain('&lt;!here&gt;');
    expect(headline).toContain('<@U012ABCDEF>');
    expect(headline).toContain('<!date^');
    expect(headline).toContain('restoring the change');
  });
});

describe('resolvedMessage', () => {
  test.each(resolvedRecords(RECORD).map((r) => [r.status, r] as const))(
    '%s: valid, headline on top, no Approve/Deny',
    (_status, record) => {
      // Act
      const message = resolvedMessage(record, 'Headline for the record');
      // Assess
      expect(problems(message)).toEqual([]);
      expect(sectionTexts(message)[0]).toBe('Headline for the record');
      const ids = buttons(message).map((b) => b.action_id);
      expect(ids).not.toContain(APPROVE_ACTION_ID);
      expect(ids).not.toContain(DENY_ACTION_ID);
      expect(message.blocks.some((b) => b.block_id === DECISION_BLOCK_ID)).toBe(false);
      expect(buttons(message).filter((b) => b.url !== undefined)).toHaveLength(1);
    },
  );
});

describe('the task token', () => {
  test('appears in no message, reply or headline', () => {
    // Prepare
    const token = 'AQCEAAAAKgAAAAMplanted-secret-task-token-9f8e7d==';
    const record = { ...RECORD, taskToken: token };
    // Act
    const outputs = [
      approvalRequestMessage(record, { now: NOW }),
      ...resolvedRecords(record).map((r) => resolvedMessage(r, 'done')),
      auditReply(record, 'Quarantined'),
      decisionHeadline(DECISION),
    ];
    // Assess
    expect(RECORD.taskToken).toBeDefined();
    expect(JSON.stringify(outputs)).not.toContain(token);
    expect(JSON.stringify(outputs)).not.toContain(RECORD.taskToken);
  });
});

describe('decisionHeadline', () => {
  test.each([
    [DECISION, /^Approved by <@U012ABCDEF> \(Alice Example\) via Slack at <!date\^\d+\^/],
    [
      {
        ...DECISION,
        decision: 'DENIED',
        decidedBy: { id: 'alice@example.com', name: 'Alice', channel: 'email' },
      },
      /^Denied via e-mail link at <!date\^\d+\^[^>]*> \(through the link sent to `alice@example\.com`\)$/,
    ],
    [
      { ...DECISION, decidedBy: { id: 'U1><!channel', name: '<!here>', channel: 'slack' } },
      /^Approved by `U1&gt;&lt;!channel` \(&lt;!here&gt;\) via Slack at /,
    ],
  ] as [DecisionOutput, RegExp][])('%o', (decision, expected) => {
    // Act
    const headline = decisionHeadline(decision);
    // Assess
    expect(headline).toMatch(expected);
    expect(mrkdwnProblems(headline)).toEqual([]);
  });
});

describe('auditReply', () => {
  test('names the approval, defuses special mentions and stays within 3,000 characters', () => {
    // Act
    const reply = auditReply(RECORD, `<!channel> Quarantined by <@U012ABCDEF> ${'x'.repeat(10_000)}`);
    // Assess
    expect(reply.length).toBeLessThanOrEqual(3000);
    expect(reply).toContain(RECORD.approvalId);
    expect(reply).toContain('&lt;!channel&gt;');
    expect(reply).toContain('<@U012ABCDEF>');
    expect(mrkdwnProblems(reply)).toEqual([]);
  });
});

describe('consoleUrl', () => {
  const home = 'https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#';
  test.each<[string, ChangeTarget, string]>([
    [
      'managed policy',
      { kind: 'managed-policy', policyArn: 'arn:aws:iam::111122223333:policy/team/Dev' },
      `${home}/policies/details/arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2Fteam%2FDev?section=permissions`,
    ],
    [
      'GovCloud managed policy',
      { kind: 'managed-policy', policyArn: 'arn:aws-us-gov:iam::111122223333:policy/Dev' },
      'https://console.amazonaws-us-gov.com/iam/home?region=us-gov-west-1#/policies/details/arn%3Aaws-us-gov%3Aiam%3A%3A111122223333%3Apolicy%2FDev?section=permissions',
    ],
    [
      'inline policy on a role',
      { kind: 'inline-policy', principalType: 'role', principalName: 'Deploy', policyName: 'p' },
      `${home}/roles/details/Deploy?section=permissions`,
    ],
    [
      'inline policy on a user',
      { kind: 'inline-policy', principalType: 'user', principalName: 'a+b@c', policyName: 'p' },
      `${home}/users/details/a%2Bb%40c?section=permissions`,
    ],
    [
      'attachment to a group',
      {
        kind: 'attachment',
        principalType: 'group',
        principalName: 'Ops',
        policyArn: 'arn:aws-cn:iam::aws:policy/X',
      },
      'https://console.amazonaws.cn/iam/home?region=cn-north-1#/groups/details/Ops?section=permissions',
    ],
    [
      'a name too long for a button URL',
      { kind: 'inline-policy', principalType: 'role', principalName: '/'.repeat(2000), policyName: 'p' },
      `${home}/roles`,
    ],
    [
      'a managed policy ARN too long for a button URL',
      { kind: 'managed-policy', policyArn: `arn:aws:iam::111122223333:policy/${'%'.repeat(1000)}` },
      `${home}/policies`,
    ],
  ])('%s', (_name, target, expected) => {
    expect(consoleUrl(target)).toBe(expected);
  });

  test('an inline policy takes the partition it is given', () => {
    const target: ChangeTarget = {
      kind: 'inline-policy',
      principalType: 'role',
      principalName: 'R',
      policyName: 'p',
    };
    expect(consoleUrl(target, 'aws-us-gov')).toMatch(/^https:\/\/console\.amazonaws-us-gov\.com\//);
  });
});

describe('escapeMrkdwn', () => {
  test.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['a & b', 'a &amp; b'],
    ['&lt;', '&amp;lt;'],
    ['<https://x|y>', '&lt;https://x|y&gt;'],
    ['plain *bold* `code`', 'plain *bold* `code`'],
  ])('%s → %s', (input, expected) => {
    expect(escapeMrkdwn(input)).toBe(expected);
  });
});
