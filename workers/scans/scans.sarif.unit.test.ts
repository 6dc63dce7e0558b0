/**
 * SARIF 2.1.0 output of the scanner (scans.sarif.ts), validated against the SARIF 2.1.0 JSON
 * schema: findings of every level, a suppressed finding, no findings at all, and a failed scan —
 * which must not read as a clean, successful run.
 */
import { describe, expect, it } from 'vitest';
import { validateSarif } from '../../test/shared/sarif.schema';
import { toSarif } from './scans.sarif';

const base = { id: 'scn_1', connectionSlug: 'github-prod', createdAt: '2026-12-04T00:00:00.000Z' };

function expectValid(log: unknown) {
  expect(validateSarif(log), JSON.stringify(validateSarif.errors)).toBe(true);
}

describe('toSarif', () => {
  it('is valid SARIF 2.1.0, one rule per kind and one result per finding, levels by severity', () => {
    const log = toSarif({
      ...base,
      status: 'completed',
      error: null,
      findings: [
        {
          kind: 'hidden_instruction_tag',
          severity: 'critical',
          item: 'tool:a',
          path: 'description',
          match: '<IMPORTANT>',
        },
        {
          kind: 'hidden_instruction_tag',
          severity: 'critical',
          item: 'tool:b',
          path: 'description',
          match: '<system>',
        },
        {
          kind: 'origin_not_validated',
          severity: 'medium',
          item: 'server',
          path: '',
          match: 'https://x.invalid',
        },
        { kind: 'url', severity: 'info', item: 'prompt:p', path: 'description', match: 'https://e.example' },
        {
          kind: 'overly_broad_tool',
          severity: 'high',
          item: 'tool:run',
          path: 'inputSchema.properties.command',
          match: 'command',
          suppression: { reason: 'sandboxed' },
        },
      ],
    });
    expectValid(log);
    const run = log.runs[0]!;
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual([
      'hidden_instruction_tag',
      'origin_not_validated',
      'url',
      'overly_broad_tool',
    ]);
    expect(run.results.map((r) => [r.ruleId, r.ruleIndex, r.level])).toEqual([
      ['hidden_instruction_tag', 0, 'error'],
      ['hidden_instruction_tag', 0, 'error'],
      ['origin_not_validated', 1, 'warning'],
      ['url', 2, 'note'],
      ['overly_broad_tool', 3, 'error'],
    ]);
    expect(run.results[4]).toMatchObject({
      suppressions: [{ kind: 'external', status: 'accepted', justification: 'sandboxed' }],
    });
    expect(run.invocations).toEqual([{ executionSuccessful: true, endTimeUtc: base.createdAt }]);
  });

  it('a scan without findings is a valid, successful run with no results', () => {
    const log = toSarif({ ...base, status: 'completed', error: null, findings: [] });
    expectValid(log);
    expect(log.runs[0]!.results).toEqual([]);
  });

  it('a failed scan is an unsuccessful invocation that says why, not a clean result', () => {
    const log = toSarif({ ...base, status: 'failed', error: 'upstream_unreachable', findings: [] });
    expectValid(log);
    expect(log.runs[0]!.invocations[0]).toMatchObject({
      executionSuccessful: false,
      toolExecutionNotifications: [
        { level: 'error', message: { text: expect.stringContaining('upstream_unreachable') } },
      ],
    });
  });

  it('the schema rejects what is not SARIF 2.1.0 (the check can fail)', () => {
    const log = toSarif({ ...base, status: 'completed', error: null, findings: [] });
    expect(validateSarif({ ...log, version: '2.0.0' })).toBe(false);
    expect(validateSarif({ ...log, runs: [{ results: [] }] })).toBe(false);
  });
});
