import { analysePolicy, type Finding } from '../../src/domain/analyse-policy';
import { loadGeneratedCatalogue } from '../../src/domain/catalogue-data';
import { parseStrictJson } from '../../src/domain/json-strict';
import { parsePolicyDocument } from '../../src/domain/policy-document';
import { defaultRestrictedEntries, resolveRestrictedActions } from '../../src/domain/restricted-actions';
import { corpusText, loadCorpus, loadCorpusVersions } from '../support/corpus';

const corpus = loadCorpus();
const restricted = resolveRestrictedActions(defaultRestrictedEntries(), loadGeneratedCatalogue());
const allRestricted = restricted.actions.map((a) => a.action);

function check(name: string): Finding[] {
  const policy = corpus[name];
  if (!policy) throw new Error(`${name} is not in the corpus`);
  return analysePolicy(parsePolicyDocument(policy.document), restricted);
}
const actions = (findings: Finding[]) => findings.map((f) => f.action);

describe('the AWS managed policy corpus', () => {
  test('holds the AWS managed policies the facts below are about, each with its current version', () => {
    // Assess: well over a thousand policies, and the ones the facts below are about.
    expect(Object.keys(corpus).length).toBeGreaterThan(1_000);
    for (const name of ['AdministratorAccess', 'ReadOnlyAccess', 'PowerUserAccess']) {
      expect(corpus[name]?.document).toBeDefined();
    }
  });

  test('every version AWS ever published reads, or is refused only for an action string IAM may read otherwise', () => {
    // Prepare: AWS itself published versions with padded actions ("lambda:ListFunctions ",
    // "ec2: DescribeAccountAttributes"): IAM took them, so IAM trims somewhere PolicyGate will not guess.
    const all = loadCorpusVersions();
    // Act
    const refused: { version: string; latest: boolean; reason: string }[] = [];
    for (const version of all) {
      try {
        analysePolicy(parsePolicyDocument(version.document), restricted);
      } catch (error) {
        refused.push({
          version: `${version.name} ${version.versionId}`,
          latest: version.latest,
          reason: (error as Error).message,
        });
      }
    }
    // Assess: no current version is refused; every refused one is refused for its Action strings.
    expect(all.length).toBeGreaterThan(Object.keys(corpus).length);
    expect(refused.filter((r) => r.latest)).toEqual([]);
    for (const { reason } of refused) {
      expect(reason).toMatch(/^Statement\[\d+\]\.(Not)?Action\[\d+\]: .*(white space|is not an IAM action)/);
    }
  });

  test('no policy makes the engine throw', () => {
    // Act
    const failures: string[] = [];
    for (const [name, policy] of Object.entries(corpus)) {
      try {
        analysePolicy(parsePolicyDocument(policy.document), restricted);
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      }
    }
    // Assess
    expect(failures).toEqual([]);
  });

  test('the corpus file holds no duplicate key, in any policy or around them', () => {
    // Prepare: the documents above come from JSON.parse, which would have hidden one.
    const text = corpusText();
    // Act
    const read = () => parseStrictJson(text, { maxLength: 128 * 1024 * 1024, maxDepth: 16 }, 'corpus');
    // Assess
    expect(read).not.toThrow();
  });

  test('every policy passes the strict reading as compact, pretty and URL-encoded text, as it reads as an object', () => {
    // Act
    const failures: string[] = [];
    for (const [name, policy] of Object.entries(corpus)) {
      const expected = parsePolicyDocument(policy.document);
      const compact = JSON.stringify(policy.document);
      for (const text of [compact, JSON.stringify(policy.document, null, 2), encodeURIComponent(compact)]) {
        try {
          expect(parsePolicyDocument(text)).toEqual(expected);
        } catch (error) {
          failures.push(`${name}: ${(error as Error).message.slice(0, 200)}`);
          break;
        }
      }
    }
    // Assess
    expect(failures).toEqual([]);
  });

  test('action and resource strings of every policy are printable ASCII with nothing to trim', () => {
    // Act
    const offending = Object.values(corpus)
      .flatMap((policy) => parsePolicyDocument(policy.document).statements)
      .flatMap((s) => [
        ...(s.action ?? []),
        ...(s.notAction ?? []),
        ...(s.resource ?? []),
        ...(s.notResource ?? []),
      ])
      .filter((text) => !/^[\x20-\x7e]*$/.test(text) || text.trim() !== text);
    // Assess
    expect(offending).toEqual([]);
  });

  test('AdministratorAccess grants every default restricted action, unconditionally', () => {
    const findings = check('AdministratorAccess');
    expect(actions(findings)).toEqual(allRestricted);
    expect(findings.every((f) => !f.conditional && f.statements[0]?.matchedBy === '*')).toBe(true);
  });

  test('ReadOnlyAccess grants none', () => {
    expect(check('ReadOnlyAccess')).toEqual([]);
  });

  test('PowerUserAccess grants s3:DeleteBucket through NotAction but not iam:PassRole', () => {
    // Act
    const findings = check('PowerUserAccess');
    // Assess
    const deleteBucket = findings.find((f) => f.action === 's3:DeleteBucket');
    expect(deleteBucket?.statements[0]?.matchedBy).toMatch(/^NotAction/);
    expect(actions(findings)).not.toContain('iam:PassRole');
    expect(actions(findings).some((a) => a.startsWith('iam:'))).toBe(false);
  });

  test.each([
    ['IAMFullAccess', 'iam:PassRole'],
    ['AmazonS3FullAccess', 's3:DeleteBucket'],
    ['AmazonS3FullAccess', 's3:PutBucketPolicy'],
  ])('%s grants %s', (name, action) => {
    expect(actions(check(name))).toContain(action);
  });

  test.each(['AmazonS3ReadOnlyAccess', 'IAMReadOnlyAccess', 'SecurityAudit', 'ViewOnlyAccess'])(
    '%s grants no restricted action',
    (name) => {
      expect(check(name)).toEqual([]);
    },
  );

  test('AmazonS3FullAccess grants no restricted action outside S3 and S3-adjacent services', () => {
    const services = new Set(actions(check('AmazonS3FullAccess')).map((a) => a.split(':')[0]));
    expect([...services].every((s) => s?.startsWith('s3'))).toBe(true);
  });
});
