import { loadGeneratedCatalogue } from '../../src/domain/catalogue-data';
import { analyseDocuments, riskTest } from '../../src/domain/change-analysis';
import { resolveRestrictedActions } from '../../src/domain/restricted-actions';

const restricted = resolveRestrictedActions(['s3:DeleteBucket', 'iam:PassRole'], loadGeneratedCatalogue());
const doc = (statement: object) => JSON.stringify({ Version: '2012-10-17', Statement: [statement] });

describe('analysing every document a change puts in force', () => {
  test('findings of several documents merge, each statement naming its document', () => {
    // Prepare
    const inline = doc({ Effect: 'Allow', Action: 's3:DeleteBucket', Resource: '*' });
    const attached = doc({
      Effect: 'Allow',
      Action: ['s3:*', 'iam:PassRole'],
      Resource: '*',
      Condition: { Bool: { 'aws:SecureTransport': 'true' } },
    });
    // Act
    const result = analyseDocuments(
      [
        { source: 'inline:a', document: inline },
        { source: 'arn:aws:iam::aws:policy/x', document: attached },
      ],
      restricted,
    );
    // Assess
    expect(result.error).toBeUndefined();
    expect(result.findings.map((f) => [f.action, f.conditional])).toEqual([
      ['iam:PassRole', true],
      ['s3:DeleteBucket', false],
    ]);
    const sources = result.findings
      .find((f) => f.action === 's3:DeleteBucket')
      ?.statements.map((s) => (s as { source?: string }).source);
    expect(sources).toEqual(['inline:a', 'arn:aws:iam::aws:policy/x']);
  });

  test('an unreadable document is an error (risky), never an exception, and names its document', () => {
    // Act
    const result = analyseDocuments(
      [
        { source: 'inline:ok', document: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }) },
        { source: 'inline:dup', document: '{"Statement":[],"Statement":[]}' },
      ],
      restricted,
    );
    // Assess
    expect(result.findings).toEqual([]);
    expect(result.error).toMatch(/^inline:dup: /);
    expect(riskTest(restricted)('{"Statement":[],"Statement":[]}')).toBe(true);
    expect(riskTest(restricted)(doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }))).toBe(false);
  });

  test('all documents share one budget: once it is spent the rest is not analysed', () => {
    // Prepare: a wide list and documents that each cost a lot of matching.
    const wide = resolveRestrictedActions(['ec2:*'], loadGeneratedCatalogue());
    const costly = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: Array.from({ length: 900 }, (_, i) => `ec2:*e*a*t*${i}`), Resource: '*' },
      ],
    });
    // Act
    const result = analyseDocuments(
      Array.from({ length: 60 }, (_, i) => ({ source: `inline:p${i}`, document: costly })),
      wide,
    );
    // Assess
    expect(result.error).toMatch(/analysis budget exceeded/);
    expect(result.error?.split('; ')).toHaveLength(1);
  });
});
