import { compileActionPattern, hasWildcard, matchesAction } from '../../src/domain/action-pattern';

describe('action patterns', () => {
  test.each([
    // pattern, action, expected
    ['s3:DeleteBucket', 's3:deletebucket', true],
    ['S3:DELETEBUCKET', 's3:deletebucket', true],
    ['  s3:DeleteBucket\t', 's3:deletebucket', true],
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

  test.each([
    ['kms:Disable*', true],
    ['kms:Disabl?Key', true],
    ['kms:DisableKey', false],
  ])('hasWildcard(%j) is %s', (text, expected) => {
    expect(hasWildcard(text)).toBe(expected);
  });
});
