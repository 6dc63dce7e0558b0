/** The `type` label of A2A calls, and task lifecycles kept out of the detection counter. */
import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../workers/db/schema';
import { parseSeriesKey } from './metrics.catalog';
import { MetricsRecorder } from './metrics.contract';

const a2aRow: AuditEventInsert = {
  id: 'evt_a2a',
  orgId: 'org_1',
  type: 'a2a_call',
  connectionId: 'con_a',
  connectionSlug: 'agent',
  method: 'SendMessage',
  action: 'allow',
  upstreamStatus: 200,
  latencyMs: 12,
  createdAt: 0,
};

describe('metrics of A2A calls', () => {
  it('label an a2a_call row type="a2a", beside mcp and llm', () => {
    const r = new MetricsRecorder();
    r.call(a2aRow, 2);
    r.call({ ...a2aRow, id: 'evt_mcp', type: 'tool_call', method: 'tools/call' });
    const types = Object.keys(r.take())
      .map((key) => parseSeriesKey(key))
      .filter((s) => s.name === 'igris_requests_total')
      .map((s) => s.labels.type)
      .sort();
    expect(types).toEqual(['a2a', 'mcp']);
  });

  it('count inspection findings of an A2A call as detections, but not its task states', () => {
    const r = new MetricsRecorder();
    r.findings(a2aRow, [
      { stage: 'a2a_task', kind: 'task_state', severity: 'info', detail: { taskId: 't', state: 'working' } },
      { stage: 'inspection', kind: 'pii.email', severity: 'medium', detail: { category: 'pii' } },
    ]);
    const detections = Object.keys(r.take())
      .map((key) => parseSeriesKey(key))
      .filter((s) => s.name === 'igris_detections_total');
    expect(detections.map((s) => s.labels.stage)).toEqual(['inspection']);
  });

  it('do not count a stored LLM response’s claim as a detection (a record, not a finding)', () => {
    const r = new MetricsRecorder();
    r.findings({ ...a2aRow, type: 'llm_call', method: 'responses' }, [
      { stage: 'llm_response', kind: 'response_created', severity: 'info', detail: { responseId: 'resp_1' } },
    ]);
    const detections = Object.keys(r.take())
      .map((key) => parseSeriesKey(key))
      .filter((s) => s.name === 'igris_detections_total');
    expect(detections).toEqual([]);
  });
});
