import {
  compileActionPattern,
  hasWildcard,
  matchActionCounted,
  matchesAction,
} from '../../src/domain/action-pattern';
import { MATCH, NO_MATCH } from '../../src/domain/glob-match';

describe('action patterns', () => {
  test.each([
    // pattern, action, expected
    ['s3:DeleteBucket', 's3:deletebucket', true],
    ['S3:DELETEBUCKET', 's3:deletebucket', true],
    // Taken as written: the parser refuses padded actions, and IAM may read the space as part of the name.
    [' s3:DeleteBucket', 's3:deletebucket', false],
    ['s3:DeleteBucket ', 's3:deletebucket', false],
    [' *', 'iam:passrole', false],
    ['s3:DeleteObject', 's3:deleteobjecttagging', false],
    ['s3:DeleteObjectTagging', 's3:deleteobject', false],
    ['s3:*', 's3:deletebucket', true],
    ['s3:*', 's3express:createsession', false],
    ['s3*', 's3express:createsession', true],
    ['*', 'iam:passrole', true],
    ['**', 'iam:passrole', true],
    ['*:*', 'iam:passrole', true],
    ['*:PassRole', 'iam:passrole', true],
    ['iam:Pass*', 'iam:passrole', true],
    ['iam:*Role', 'iam:passrole', true],
    ['iam:*Role', 'iam:passroles', false],
    ['iam:P?ssRole', 'iam:passrole', true],
    ['iam:P?ssRole', 'iam:pssrole', false],
    ['iam:P??sRole', 'iam:passrole', true],
    ['i*e', 'iam:passrole', true],
    ['s3:Delete*', 's3:deletebucket', true],
    ['s3:Delete*', 's3:putbucketpolicy', false],
    ['s3:Get*', 's3:deletebucket', false],
    ['iam', 'iam:passrole', false],
    ['', 'iam:passrole', false],
    ['s3:Delete.ucket', 's3:deletebucket', false],
    ['s3:(Delete)Bucket', 's3:deletebucket', false],
    ['s3:Delete[Bb]ucket', 's3:deletebucket', false],
    ['s3:Delete\\Bucket', 's3:deletebucket', false],
    ['s3:*bucket*', 's3:deletebucket', true],
    ['s3:*?', 's3:', false],
    ['*:?', 's3:x', true],
  ])('%j against %s → %s', (source, action, expected) => {
    // Prepare
    const pattern = compileActionPattern(source);
    // Act
    const result = matchesAction(pattern, action);
    // Assess
    expect(result).toBe(expected);
  });

  test.each([
    ['s3:Get*', 's3'],
    ['IAM:*', 'iam'],
    ['*', undefined],
    ['s3*:Get', undefined],
    ['?3:Get', undefined],
  ])('service prefix of %j is %j', (source, service) => {
    expect(compileActionPattern(source).service).toBe(service);
  });

  test('compiled patterns are reused', () => {
    expect(compileActionPattern('kms:Disable*')).toBe(compileActionPattern('kms:Disable*'));
  });

  test('very long patterns are not kept in the cache, so it cannot fill memory with them', () => {
    // Prepare: real policies never repeat such patterns; an adversary would, thousands of times.
    const long = `iam:${'*?'.repeat(500)}`;
    // Act / Assess
    expect(compileActionPattern(long)).not.toBe(compileActionPattern(long));
    expect(compileActionPattern(long).normalised).toBe(long);
  });

  test('runs of * mean one *: the normalised form collapses them and lower-cases', () => {
    // Act
    const pattern = compileActionPattern('IAM:***Get**?ole*');
    // Assess
    expect(pattern.normalised).toBe('iam:*get*?ole*');
    expect(pattern.glob).toBeDefined();
    expect(matchesAction(pattern, 'iam:getrole')).toBe(true);
  });

  test('a pattern with thousands of wildcards compiles and matches, with work bounded by the name', () => {
    // Prepare: once a regular expression, this crashed (invalid regex) or backtracked for minutes.
    const stars = compileActionPattern(`iam:${'*'.repeat(5_000)}Role`);
    const alternating = compileActionPattern(`iam:${'*?'.repeat(3_000)}`);
    const almost = compileActionPattern(`${'*?'.repeat(20)}${'*'.repeat(4_000)}x`);
    const names = ['a'.repeat(25), 'iam:attachrolepolicyx'];
    const counter = { units: 0, limit: Number.POSITIVE_INFINITY };
    // Act
    const results = [
      matchesAction(stars, 'iam:passrole'),
      matchesAction(alternating, 'iam:passrole'),
      ...names.map((name) => matchActionCounted(almost, name, counter)),
    ];
    // Assess
    expect(results).toEqual([true, false, NO_MATCH, MATCH]);
    // Bounded by the pattern with its runs of * collapsed (41 characters here, not 4,000), times the name.
    expect(almost.normalised.length).toBeLessThan(50);
    const bound = names.reduce((sum, name) => sum + (almost.normalised.length + 1) * (name.length + 1), 0);
    expect(counter.units).toBeLessThanOrEqual(bound);
  });

  test.each([
    ['kms:Disable*', true],
    ['kms:Disabl?Key', true],
    ['kms:DisableKey', false],
  ])('hasWildcard(%j) is %s', (text, expected) => {
    expect(hasWildcard(text)).toBe(expected);
  });
});
