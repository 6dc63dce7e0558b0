/** The task-tracking response stage over v1.0 and v0.3 answers: states once per change, metadata only. */
import { describe, expect, it } from 'vitest';
import type { StageCall } from '../gateway/gateway.stages';
import { partContents } from '../inspection/inspection.a2a.stage';
import { messageMeta, stateName, type TaskReport, taskTrackStage } from './a2a.tasks';

function stageCall(): StageCall {
  return {
    orgId: 'org_1',
    connectionId: 'con_1',
    identity: { user: 'ada', traceId: 'tr-1', traceGenerated: false, metadata: null, metadataError: null },
    policy: null,
    teams: [],
    prompt: null,
    orgName: 'Org',
    connectionSlug: 'agent',
    findings: [],
    deferred: [],
  };
}

function track(logContent: boolean, answers: unknown[]) {
  const call = stageCall();
  const reports: TaskReport[] = [];
  const stage = taskTrackStage(
    call,
    {
      canonical: 'SendStreamingMessage',
      skill: 'echo',
      taskId: null,
      params: { message: { messageId: 'm-1', role: 'user', parts: [{ kind: 'text', text: 'hi there' }] } },
      logContent,
    },
    'agent',
    (report) => {
      reports.push(report);
      return async () => {};
    },
  );
  for (const answer of answers) expect(stage.onMessage(answer)).toBeUndefined(); // never changes the answer
  return { reports, deferred: call.deferred ?? [] };
}

const v03 = [
  {
    jsonrpc: '2.0',
    id: 1,
    result: { kind: 'task', id: 't-1', contextId: 'c-1', status: { state: 'submitted' } },
  },
  { jsonrpc: '2.0', id: 1, result: { kind: 'status-update', taskId: 't-1', status: { state: 'working' } } },
  { jsonrpc: '2.0', id: 1, result: { kind: 'status-update', taskId: 't-1', status: { state: 'working' } } },
  {
    jsonrpc: '2.0',
    id: 1,
    result: {
      kind: 'artifact-update',
      taskId: 't-1',
      artifact: { artifactId: 'a-1', name: 'answer', parts: [{ kind: 'data', data: { n: 1 } }] },
    },
  },
  {
    jsonrpc: '2.0',
    id: 1,
    result: {
      kind: 'status-update',
      taskId: 't-1',
      status: {
        state: 'input-required',
        message: { messageId: 'm-2', role: 'agent', parts: [{ kind: 'text', text: 'which one?' }] },
      },
    },
  },
];

describe('A2A task tracking stage', () => {
  it('reads v0.3 answers: one state per change, the request and the agent’s messages as metadata', () => {
    const { reports, deferred } = track(false, v03);
    expect(deferred).toHaveLength(1); // one write for the whole answer
    const report = reports[0]!;
    expect(report.states.map((s) => s.state)).toEqual(['submitted', 'working', 'input-required']);
    expect(report.states[0]).toMatchObject({ taskId: 't-1', contextId: 'c-1' });
    expect(report.items.map((i) => i.kind)).toEqual(['request', 'artifact', 'message']);
    expect(report.items[0]!.detail).toEqual({
      messageId: 'm-1',
      role: 'user',
      parts: [{ kind: 'text', size: 8 }],
    });
    expect(report.items[1]!.detail).toMatchObject({
      artifactId: 'a-1',
      name: 'answer',
      parts: [{ kind: 'data' }],
    });
    expect(JSON.stringify(report)).not.toContain('which one?');
    // Strictly increasing times: the order the gateway saw.
    const times = [...report.items, ...report.states].map((x) => x.at).sort((a, b) => a - b);
    expect(new Set(times).size).toBe(times.length);
  });

  it('keeps content with logContent, and reads v1.0 shapes', () => {
    const { reports } = track(true, [
      {
        jsonrpc: '2.0',
        id: 1,
        result: {
          task: {
            id: 't-2',
            status: { state: 'TASK_STATE_COMPLETED' },
            artifacts: [{ artifactId: 'a', parts: [{ text: 'done' }] }],
          },
        },
      },
    ]);
    const report = reports[0]!;
    expect(report.states.map((s) => s.state)).toEqual(['completed']);
    expect(report.items.map((i) => i.detail.parts[0]?.content)).toEqual(['hi there', 'done']);
  });

  it('tracks nothing for an answer outside any task, or an error', () => {
    const { reports, deferred } = track(false, [
      { jsonrpc: '2.0', id: 1, result: { message: { messageId: 'x', role: 'ROLE_AGENT', parts: [] } } },
      { jsonrpc: '2.0', id: 1, error: { code: -32001, message: 'TaskNotFound' } },
    ]);
    expect(reports).toEqual([]);
    expect(deferred).toEqual([]);
  });

  it('normalizes states and roles', () => {
    expect(stateName('TASK_STATE_INPUT_REQUIRED')).toBe('input-required');
    expect(stateName('auth-required')).toBe('auth-required');
    expect(messageMeta({ role: 'ROLE_USER', parts: [{ url: 'https://x/y.pdf' }] }, true)).toEqual({
      messageId: null,
      role: 'user',
      parts: [{ kind: 'file', size: 15 }],
    });
  });
});

describe('A2A message parts for inspection', () => {
  it('finds the text and data of every parts array, with its JSON path', () => {
    const found = partContents(
      {
        task: {
          status: { message: { parts: [{ text: 'a' }, { url: 'u' }] } },
          artifacts: [{ parts: [{ kind: 'data', data: { k: 'v' } }] }],
        },
      },
      '$.result',
    );
    expect(found.map((f) => f.path)).toEqual([
      '$.result.task.status.message.parts[0].text',
      '$.result.task.artifacts[0].parts[0].data',
    ]);
  });
});
