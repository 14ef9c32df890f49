import { isDeployer, ownRoleTargeted, roleNameOfArn } from '../../src/domain/own-roles';

const OWN = ['policy-gate-prod-analyse', 'policy-gate-prod-slack'];

describe("PolicyGate's own roles as change targets", () => {
  test.each([
    ['arn:aws:iam::123456789012:role/policy-gate-prod-analyse', 'policy-gate-prod-analyse'],
    ['arn:aws-us-gov:iam::123456789012:role/a/b//c/Name', 'Name'],
    ['arn:aws:sts::123456789012:assumed-role/x/y', undefined],
  ])('the role name of %s is %s', (arn, name) => {
    expect(roleNameOfArn(arn)).toBe(name);
  });

  test.each([
    [
      {
        kind: 'inline-policy',
        principalType: 'role',
        principalName: 'POLICY-GATE-PROD-ANALYSE',
        policyName: 'x',
      },
      'policy-gate-prod-analyse',
    ],
    [
      {
        kind: 'attachment',
        principalType: 'role',
        principalName: 'policy-gate-prod-slack',
        policyArn: 'arn:aws:iam::aws:policy/x',
      },
      'policy-gate-prod-slack',
    ],
    [
      { kind: 'permissions-boundary', principalType: 'role', principalName: 'policy-gate-prod-slack' },
      'policy-gate-prod-slack',
    ],
    [{ kind: 'trust-policy', roleName: 'policy-gate-prod-analyse' }, 'policy-gate-prod-analyse'],
    [
      {
        kind: 'inline-policy',
        principalType: 'user',
        principalName: 'policy-gate-prod-analyse',
        policyName: 'x',
      },
      undefined,
    ],
    [
      {
        kind: 'inline-policy',
        principalType: 'role',
        principalName: 'policy-gate-dev-analyse',
        policyName: 'x',
      },
      undefined,
    ],
    [
      { kind: 'managed-policy', policyArn: 'arn:aws:iam::123456789012:policy/policy-gate-prod-analyse' },
      undefined,
    ],
  ] as const)('%j targets %s', (target, expected) => {
    expect(ownRoleTargeted(target, OWN)).toBe(expected);
  });

  test('only the configured deployer role, as session issuer or actor, is the deployer', () => {
    // Prepare
    const deployer = 'arn:aws:iam::123456789012:role/cfn-deployer';
    const asIssuer = { type: 'AssumedRole', sessionIssuer: { type: 'Role', arn: deployer } };
    const named = {
      type: 'AssumedRole',
      sessionName: 'cfn-deployer',
      arn: 'arn:aws:sts::123456789012:assumed-role/other/cfn-deployer',
    };
    // Act / Assess
    expect(isDeployer(asIssuer, deployer)).toBe(true);
    expect(isDeployer(named, deployer)).toBe(false);
    expect(isDeployer(asIssuer, undefined)).toBe(false);
  });
});
