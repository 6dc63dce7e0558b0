import { describe, expect, it } from 'vitest';
import { refreshedFindings } from '../integrity/integrity.shadow';
import { type CallIntegrity, EMPTY_STATE, scanBlockOf } from '../integrity/integrity.types';
import type { ScanResultFinding } from './scans.checks';
import { blockOf, findingFingerprint, type Suppression, suppressionFor } from './scans.finding';

const finding = {
  kind: 'hidden_instruction_tag',
  item: 'tool:get_weather',
  path: 'description',
  match: '<IMPORTANT>',
};

describe('scan suppressions', () => {
  it('a finding is known by kind, item, path and match: any change is another finding', () => {
    const id = findingFingerprint(finding);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(findingFingerprint({ ...finding })).toBe(id);
    for (const changed of [
      { match: '<SYSTEM>' },
      { item: 'tool:other' },
      { path: 'inputSchema' },
      { kind: 'url' },
    ]) {
      expect(findingFingerprint({ ...finding, ...changed })).not.toBe(id);
    }
  });

  it('a fingerprint is the value suppressions stored before the hash moved to node:crypto', () => {
    // Computed by the former hand-written SHA-256 (integrity.sha256.ts, removed): a changed value
    // would silently lift every stored suppression.
    expect(findingFingerprint({ ...finding, match: '<IMPORTANT> ✓ 🙂' })).toBe(
      'd356a67e86da17633c74d929793ebfbf6c0383bb8483f9dee44e475fed85c66e',
    );
  });

  it('applies a suppression until it expires', () => {
    const id = findingFingerprint(finding);
    const s = (expiresAt: number | null): Map<string, Suppression> =>
      new Map([
        [
          id,
          {
            id: 'sup_1',
            fingerprint: id,
            kind: 'k',
            item: 'i',
            reason: 'r',
            expiresAt,
            createdBy: 'user:u',
            createdAt: 0,
          },
        ],
      ]);
    expect(suppressionFor(id, s(null), 1000)?.id).toBe('sup_1');
    expect(suppressionFor(id, s(2000), 1000)?.id).toBe('sup_1');
    expect(suppressionFor(id, s(1000), 1000)).toBeNull();
    expect(suppressionFor('other', s(null), 1000)).toBeNull();
  });
});

describe('the block a scan puts on its connection', () => {
  const critical = (match: string): ScanResultFinding => ({
    kind: 'hidden_instruction_tag',
    severity: 'critical',
    item: 'tool:a',
    path: 'description',
    match,
  });
  const a = critical('<IMPORTANT>');
  const b = critical('<system>');
  const suppressed = (f: ScanResultFinding, expiresAt: number | null): [string, Suppression] => {
    const fingerprint = findingFingerprint(f);
    return [
      fingerprint,
      {
        id: `sup_${f.match}`,
        fingerprint,
        kind: f.kind,
        item: f.item,
        reason: 'ok',
        expiresAt,
        createdBy: 'u',
        createdAt: 0,
      },
    ];
  };
  const integrity = (block: ReturnType<typeof blockOf>): CallIntegrity =>
    ({
      mode: 'alert',
      blockOnCriticalScan: true,
      state: { ...EMPTY_STATE, scanBlock: block },
    }) as CallIntegrity;

  it('blocks on unsuppressed critical findings; none when all are suppressed for good', () => {
    expect(blockOf('scn_1', [a, b], new Map(), 1000)).toEqual({ scanId: 'scn_1', critical: 2 });
    expect(blockOf('scn_1', [a, b], new Map([suppressed(a, null)]), 1000)).toEqual({
      scanId: 'scn_1',
      critical: 1,
    });
    expect(blockOf('scn_1', [a, b], new Map([suppressed(a, null), suppressed(b, null)]), 1000)).toBeNull();
    expect(blockOf('scn_1', [], new Map(), 1000)).toBeNull();
  });

  it('an expiring suppression blocks again at its expiry, without being re-published', () => {
    const block = blockOf('scn_1', [a, b], new Map([suppressed(a, null), suppressed(b, 5000)]), 1000);
    expect(block).toEqual({ scanId: 'scn_1', critical: 1, from: 5000 });
    expect(scanBlockOf(integrity(block), 4999)).toBeNull();
    expect(scanBlockOf(integrity(block), 5000)).toEqual(block);
    // Already expired when computed: blocked at once.
    expect(blockOf('scn_1', [a], new Map([suppressed(a, 500)]), 1000)).toEqual({
      scanId: 'scn_1',
      critical: 1,
    });
    // blockOnCriticalScan off: never.
    expect(scanBlockOf({ ...integrity(block), blockOnCriticalScan: false }, 9999)).toBeNull();
  });
});

describe('shadowing re-scan', () => {
  const row = (findings: unknown[]) => ({
    name: 'echo',
    definition: JSON.stringify({ description: 'Echoes' }),
    findings: JSON.stringify(findings),
  });
  it('adds a shadowing finding when another connection now has the name, keeping the definition findings', () => {
    const own = { kind: 'url', severity: 'warning', path: 'description', match: 'https://x' };
    const next = refreshedFindings(row([own]), [{ connectionSlug: 'other', name: 'echo' }]);
    expect(next).toEqual([
      own,
      { kind: 'shadowing', severity: 'warning', path: 'name', match: 'other/echo' },
    ]);
  });
  it('drops it when the other tool is gone, and reports no change when nothing changed', () => {
    const shadow = { kind: 'shadowing', severity: 'warning', path: 'name', match: 'other/echo' };
    expect(refreshedFindings(row([shadow]), [])).toEqual([]);
    expect(refreshedFindings(row([shadow]), [{ connectionSlug: 'other', name: 'echo' }])).toBeNull();
  });
});
