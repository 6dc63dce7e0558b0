/** Which rows raise which alerts (pure rules of the alert inbox). */
import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../workers/db/schema';
import { anomalyAlert, DENY_SPIKE, DENY_WINDOW_MS, DenySpikes, rowAlerts } from './alert.rules';

const row = (over: Partial<AuditEventInsert> = {}): AuditEventInsert => ({
  id: 'evt_1',
  orgId: 'org_1',
  type: 'tool_call',
  connectionId: 'con_1',
  connectionSlug: 'files',
  tool: 'read_file',
  action: 'allow',
  createdAt: 0,
  ...over,
});

describe('alert rules', () => {
  it('raises one deny_spike when a minute reaches the threshold, then not again for a minute', () => {
    const spikes = new DenySpikes();
    const raised = [];
    for (let i = 0; i < DENY_SPIKE * 2; i++) raised.push(spikes.observe(row({ action: 'deny' }), 1_000 + i));
    expect(raised.filter(Boolean)).toHaveLength(1);
    expect(raised.findIndex(Boolean)).toBe(DENY_SPIKE - 1);
    expect(spikes.observe(row({ action: 'allow' }), 2_000)).toBeNull();
    // Denials spread wider than the window never add up to a spike.
    const slow = new DenySpikes();
    for (let i = 0; i < DENY_SPIKE * 2; i++) {
      expect(slow.observe(row({ action: 'deny' }), i * (DENY_WINDOW_MS / (DENY_SPIKE - 2)))).toBeNull();
    }
  });

  it('raises kill_switch per switch, detection for high findings only, drift for tool_integrity', () => {
    const killed = rowAlerts(
      row({ action: 'killed', details: { killSwitchId: 'ks_1', scope: 'connection' } }),
      [],
    );
    expect(killed).toMatchObject([
      { type: 'kill_switch', fingerprint: 'kill_switch:ks_1', severity: 'high' },
    ]);
    const found = rowAlerts(row(), [
      { stage: 'inspection', kind: 'secret.aws', severity: 'critical' },
      { stage: 'inspection', kind: 'pii.email', severity: 'low' },
      { stage: 'tool_integrity', kind: 'tool_changed', severity: 'high', detail: { name: 'read_file' } },
    ]);
    expect(found.map((a) => [a.type, a.fingerprint, a.severity])).toEqual([
      ['detection', 'detection:con_1:inspection:secret.aws', 'critical'],
      ['drift', 'drift:con_1:tool_changed:read_file', 'high'],
    ]);
    expect(anomalyAlert(row(), 'destructive_pattern', 'drop_table')).toMatchObject({
      type: 'anomaly',
      severity: 'high',
      fingerprint: 'anomaly:con_1:destructive_pattern:drop_table',
    });
  });

  it('raises a policy alert for a call an `alert` rule matched, one fingerprint per rule and name', () => {
    const matched = rowAlerts(row({ action: 'alert', ruleIndex: 2, tool: 'github_push' }), []);
    expect(matched).toMatchObject([
      {
        type: 'policy',
        severity: 'medium',
        fingerprint: 'policy:con_1:2:github_push',
        details: { ruleIndex: 2, tool: 'github_push' },
      },
    ]);
    expect(rowAlerts(row({ action: 'allow', ruleIndex: 2 }), [])).toEqual([]);
  });
});
