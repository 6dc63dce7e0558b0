/**
 * Findings appended to an audit row's details (audit.findings.ts): in order, and the row's
 * `riskScore` the highest any inspection finding carried (the call's score once all are in).
 */
import { describe, expect, it } from 'vitest';
import { withFindings } from './audit.findings';

const inspection = (ruleId: string, riskScore: number) => ({
  stage: 'inspection',
  kind: ruleId,
  severity: 'high' as const,
  detail: { ruleId, riskScore },
});

describe('withFindings', () => {
  it('appends findings and keeps the highest risk score across request and answer', () => {
    const request = withFindings({ http: 'POST' }, [inspection('pii.email', 10)]);
    expect(request).toEqual({ http: 'POST', findings: [inspection('pii.email', 10)], riskScore: 10 });
    const answer = withFindings(request, [inspection('secret.aws_access_key_id', 91)]);
    expect(answer.riskScore).toBe(91);
    expect(answer.findings).toHaveLength(2);
  });

  it('adds no risk score for findings without one', () => {
    const details = withFindings(null, [{ stage: 'probe', kind: 'saw_tools', severity: 'info' }]);
    expect(details).toEqual({ findings: [{ stage: 'probe', kind: 'saw_tools', severity: 'info' }] });
  });
});
