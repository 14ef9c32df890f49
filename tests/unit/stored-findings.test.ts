import type { Finding } from '../../src/domain/analyse-policy';
import { FINDINGS_BUDGET, storedFindings, totalFindings } from '../../src/domain/approval';

function finding(i: number, statements = 1, resources = 1): Finding {
  return {
    action: `s3:Action${i}`,
    conditional: false,
    statements: Array.from({ length: statements }, (_, index) => ({
      index,
      matchedBy: 's3:*',
      resources: Array.from({ length: resources }, (_, r) => `arn:aws:s3:::bucket-${r}/*`),
    })),
  };
}

describe('storedFindings', () => {
  test('keeps every finding, unchanged, when they fit', () => {
    // Prepare
    const findings = Array.from({ length: 20 }, (_, i) => finding(i));
    // Act
    const stored = storedFindings(findings);
    // Assess
    expect(stored).toEqual({ findings, omitted: 0 });
  });

  test('thousands of findings: keeps a prefix within the budget and counts the rest', () => {
    // Prepare
    const findings = Array.from({ length: 3_000 }, (_, i) => finding(i, 30, 12));
    // Act
    const stored = storedFindings(findings);
    // Assess
    expect(JSON.stringify(stored.findings).length).toBeLessThanOrEqual(FINDINGS_BUDGET);
    expect(stored.findings.length).toBeGreaterThan(0);
    expect(stored.findings.length + stored.omitted).toBe(3_000);
    expect(stored.findings.map((f) => f.action)).toEqual(
      findings.slice(0, stored.findings.length).map((f) => f.action),
    );
    expect(totalFindings({ findings: stored.findings, findingsOmitted: stored.omitted })).toBe(3_000);
  });

  test('trims each finding to 10 statements of 5 resources', () => {
    // Act
    const [kept] = storedFindings([finding(1, 30, 12)]).findings;
    // Assess
    expect(kept?.statements).toHaveLength(10);
    expect(kept?.statements.every((s) => s.resources.length === 5)).toBe(true);
  });
});
