import {
  type AccountInventory,
  baselineOf,
  type Coverage,
  compareWithBaseline,
  mapGrants,
  type PolicyInForce,
  type PrincipalGrants,
  type SweepGrant,
} from '../../src/domain/sweep';

const RISKY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
});
const SAFE = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
});
const isRisky = (document: string) => document === RISKY || document.includes('"Action":"*"');
const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const MINE = 'arn:aws:iam::123456789012:policy/mine';

function policy(arn: string, document: string, versionId = 'v1'): [string, PolicyInForce] {
  return [
    arn.toLowerCase(),
    { arn, defaultVersionId: versionId, document, awsManaged: arn.includes(':aws:policy/') },
  ];
}

function inventory(
  principals: PrincipalGrants[],
  policies: [string, PolicyInForce][] = [],
): AccountInventory {
  return { principals, policies: new Map([policy(ADMIN, RISKY), ...policies]) };
}

const none = async (): Promise<Coverage> => 'none';
const describeAll = (grants: readonly SweepGrant[]) =>
  grants.map((g): string => {
    if (g.kind === 'policy') return `policy ${g.policyArn} ${g.versionId}`;
    if (g.kind === 'inline') return `inline ${g.principalType}:${g.principalName}/${g.policyName}`;
    if (g.kind === 'attachment') return `attach ${g.principalType}:${g.principalName} ${g.policyArn}`;
    return `member ${g.userName}@${g.groupName}`;
  });

describe('reconciliation sweep: grants in force', () => {
  test('risky sources are inline policies and customer policies; AWS managed ones only make links risky', () => {
    // Prepare
    const account = inventory(
      [
        {
          type: 'role',
          name: 'ci',
          inline: [
            { name: 'wide', document: RISKY },
            { name: 'read', document: SAFE },
          ],
          attached: [ADMIN],
        },
        { type: 'user', name: 'bob', inline: [], attached: [MINE], groups: [] },
      ],
      [policy(MINE, RISKY, 'v3')],
    );
    // Act
    const grants = mapGrants(account, isRisky);
    // Assess
    expect([...grants.sources.keys()].sort()).toEqual(['inline:role:ci:wide', `policy:${MINE}`]);
    expect(grants.links.get(`attach:role:ci:${ADMIN.toLowerCase()}`)?.riskyVia).toEqual([
      `aws:${ADMIN.toLowerCase()}`,
    ]);
    expect(grants.links.get(`attach:user:bob:${MINE}`)?.riskyVia).toEqual([`policy:${MINE}`]);
  });

  test("a membership is risky through its group's risky inline policies and attachments", () => {
    // Prepare
    const account = inventory([
      { type: 'user', name: 'ann', inline: [], attached: [], groups: ['Admins', 'Readers'] },
      { type: 'group', name: 'Admins', inline: [], attached: [ADMIN] },
      { type: 'group', name: 'Readers', inline: [{ name: 'read', document: SAFE }], attached: [] },
    ]);
    // Act
    const grants = mapGrants(account, isRisky);
    // Assess
    expect(grants.links.get('member:ann:admins')?.riskyVia).toEqual([
      `attach:group:admins:${ADMIN.toLowerCase()}`,
    ]);
    expect(grants.links.get('member:ann:readers')?.riskyVia).toEqual([]);
  });

  test('each distinct document is analysed once, however often it is used', () => {
    // Prepare
    const principals: PrincipalGrants[] = Array.from({ length: 50 }, (_, i) => ({
      type: 'role' as const,
      name: `r${i}`,
      inline: [{ name: 'p', document: RISKY }],
      attached: [],
    }));
    const test = jest.fn(isRisky);
    // Act
    mapGrants(inventory(principals), test);
    // Assess: fifty inline copies and AdministratorAccess all hold the same document.
    expect(test).toHaveBeenCalledTimes(1);
  });
});

describe('reconciliation sweep: comparing with the baseline', () => {
  const before = inventory([
    { type: 'role', name: 'ci', inline: [{ name: 'wide', document: RISKY }], attached: [] },
    { type: 'group', name: 'Admins', inline: [], attached: [ADMIN] },
    { type: 'user', name: 'ann', inline: [], attached: [], groups: ['Admins'] },
  ]);
  const baseline = baselineOf(mapGrants(before, isRisky));

  test('nothing new: no finding, the baseline stays the same', async () => {
    // Act
    const result = await compareWithBaseline(mapGrants(before, isRisky), baseline, none);
    // Assess
    expect(result.findings).toEqual([]);
    expect(result.baseline).toEqual(baseline);
  });

  test('a new risky inline policy, a changed one, a new admin attachment and membership are findings', async () => {
    // Prepare
    const changed = RISKY.replace('"Resource":"*"', '"Resource":"arn:aws:s3:::x"');
    const after = inventory([
      { type: 'role', name: 'ci', inline: [{ name: 'wide', document: changed }], attached: [] },
      { type: 'role', name: 'new', inline: [{ name: 'p', document: RISKY }], attached: [ADMIN] },
      { type: 'group', name: 'Admins', inline: [], attached: [ADMIN] },
      { type: 'user', name: 'ann', inline: [], attached: [], groups: ['Admins'] },
      { type: 'user', name: 'eve', inline: [], attached: [], groups: ['Admins'] },
    ]);
    // Act
    const result = await compareWithBaseline(mapGrants(after, isRisky), baseline, none);
    // Assess
    expect(describeAll(result.findings).sort()).toEqual(
      ['inline role:ci/wide', 'inline role:new/p', `attach role:new ${ADMIN}`, 'member eve@Admins'].sort(),
    );
    // Findings are left out of the baseline, so they are looked at again until covered or gone.
    expect(result.baseline.sources['inline:role:new:p']).toBeUndefined();
    expect(result.baseline.links).not.toContain('member:eve:admins');
  });

  test('a harmless new link is accepted at once; a covered grant is accepted; one at work is neither', async () => {
    // Prepare
    const after = inventory([
      ...before.principals,
      { type: 'role', name: 'reader', inline: [{ name: 'p', document: RISKY }], attached: [] },
      { type: 'role', name: 'busy', inline: [{ name: 'p', document: RISKY }], attached: [] },
      { type: 'group', name: 'Readers', inline: [], attached: [] },
      { type: 'user', name: 'rex', inline: [], attached: [], groups: ['Readers'] },
    ]);
    const coverage = async (grant: SweepGrant): Promise<Coverage> =>
      grant.kind === 'inline' && grant.principalName === 'reader'
        ? 'covered'
        : grant.kind === 'inline' && grant.principalName === 'busy'
          ? 'in-progress'
          : 'none';
    // Act
    const result = await compareWithBaseline(mapGrants(after, isRisky), baseline, coverage);
    // Assess
    expect(result.findings).toEqual([]);
    expect(describeAll(result.inProgress)).toEqual(['inline role:busy/p']);
    expect(result.baseline.sources['inline:role:reader:p']).toBeDefined();
    expect(result.baseline.sources['inline:role:busy:p']).toBeUndefined();
    expect(result.baseline.links).toContain('member:rex:readers');
  });

  test('an old link whose policy turned risky is not a finding: the policy is', async () => {
    // Prepare
    const start = inventory(
      [{ type: 'role', name: 'app', inline: [], attached: [MINE] }],
      [policy(MINE, SAFE, 'v1')],
    );
    const turned = inventory(
      [{ type: 'role', name: 'app', inline: [], attached: [MINE] }],
      [policy(MINE, RISKY, 'v2')],
    );
    // Act
    const result = await compareWithBaseline(
      mapGrants(turned, isRisky),
      baselineOf(mapGrants(start, isRisky)),
      none,
    );
    // Assess
    expect(describeAll(result.findings)).toEqual([`policy ${MINE} v2`]);
  });

  test('a new link that is risky only through a grant found in the same run is contained with it', async () => {
    // Prepare: a new policy version turned risky, and a new attachment of it, in one gap.
    const start = inventory(
      [{ type: 'role', name: 'app', inline: [], attached: [] }],
      [policy(MINE, SAFE, 'v1')],
    );
    const after = inventory(
      [{ type: 'role', name: 'app', inline: [], attached: [MINE] }],
      [policy(MINE, RISKY, 'v2')],
    );
    // Act
    const result = await compareWithBaseline(
      mapGrants(after, isRisky),
      baselineOf(mapGrants(start, isRisky)),
      none,
    );
    // Assess
    expect(describeAll(result.findings)).toEqual([`policy ${MINE} v2`]);
    expect(result.baseline.links).toContain(`attach:role:app:${MINE}`);
  });
});
