import { summariseTrustPolicy } from '../../src/domain/trust-policy';

const doc = (statement: object) => JSON.stringify({ Version: '2012-10-17', Statement: [statement] });

describe('who a trust policy lets assume the role', () => {
  test('a service principal, unconditionally', () => {
    // Act
    const summary = summariseTrustPolicy(
      doc({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }),
    );
    // Assess
    expect(summary).toEqual({
      lines: ['#0 Allow: Service lambda.amazonaws.com may sts:AssumeRole'],
      open: false,
      readable: true,
    });
  });

  test.each([
    ['"*"', { Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' }],
    ['AWS "*"', { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
    [
      'NotPrincipal',
      { Effect: 'Allow', NotPrincipal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'sts:AssumeRole' },
    ],
  ])('%s without a condition is open to anyone', (_label, statement) => {
    expect(summariseTrustPolicy(doc(statement)).open).toBe(true);
  });

  test('anyone, but with a condition, is not open', () => {
    // Act
    const summary = summariseTrustPolicy(
      doc({
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc' } },
      }),
    );
    // Assess
    expect(summary.open).toBe(false);
    expect(summary.lines[0]).toMatch(/with a condition/);
  });

  test('a document PolicyGate cannot read is said to be unreadable, not open', () => {
    // Act
    const summary = summariseTrustPolicy('{"Statement":[],"Statement":[]}');
    // Assess
    expect(summary).toMatchObject({ open: false, readable: false });
    expect(summary.lines[0]).toMatch(/could not be read/);
  });
});
