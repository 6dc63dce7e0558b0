import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../db/schema';
import { anomalyRow, callRow, directRow, withDetails } from './audit.row';

const CALL = {
  id: 'evt_1',
  orgId: 'org_1',
  connectionId: 'con_1',
  connectionSlug: 'crm',
  apiKeyId: 'key_1',
  actor: 'key:key_1',
  user: 'alice@example.com',
  traceId: 'ig_trace_1',
  metadata: { team: 'a' },
  metadataError: 'too deep',
  mcpSessionId: 'mcp-1',
  createdAt: 1_000,
};

describe('audit rows', () => {
  it('a call starts as a request that passes, with every field of its caller', () => {
    expect(callRow(CALL)).toEqual({ ...CALL, type: 'request', action: 'pass' });
  });

  it('an anomaly row copies the caller of its call (not the call’s own outcome or metadata error)', () => {
    const call: AuditEventInsert = {
      ...callRow(CALL),
      sessionId: 'ses_1',
      method: 'tools/call',
      tool: 'delete',
      errorCode: 'rate_limited',
      upstreamStatus: 200,
      details: { reason: 'x' },
    };
    const row = anomalyRow(
      call,
      { anomalyType: 'rate_spike', method: 'tools/call', tool: null, details: { rate: 9 } },
      5_000,
    );
    expect(row).toEqual({
      id: expect.stringMatching(/^evt_/),
      type: 'anomaly',
      orgId: 'org_1',
      connectionId: 'con_1',
      connectionSlug: 'crm',
      sessionId: 'ses_1',
      mcpSessionId: 'mcp-1',
      apiKeyId: 'key_1',
      actor: 'key:key_1',
      user: 'alice@example.com',
      traceId: 'ig_trace_1',
      metadata: { team: 'a' },
      method: 'tools/call',
      tool: null,
      action: 'rate_spike',
      details: { anomalyType: 'rate_spike', rate: 9 },
      createdAt: 5_000,
    });
    expect(row.id).not.toBe(call.id);
  });

  it('a direct row has a fresh id that leads with its own creation time', () => {
    const row = directRow({
      orgId: 'org_1',
      type: 'admin',
      connectionId: null,
      connectionSlug: null,
      sessionId: null,
      apiKeyId: null,
      actor: 'user:u1',
      user: null,
      action: 'connection.create',
      details: {},
    });
    expect(row.id.slice(4, 16)).toBe(row.createdAt.toString(16).padStart(12, '0'));
    expect(directRow({ ...row }).id).not.toBe(row.id);
  });

  it('merges details over what the row holds, and replaces details that are not an object', () => {
    const row = callRow(CALL);
    expect(withDetails({ ...row, details: { a: 1, b: 1 } }, { b: 2 }).details).toEqual({ a: 1, b: 2 });
    expect(withDetails({ ...row, details: ['x'] }, { b: 2 }).details).toEqual({ b: 2 });
    expect(withDetails(row, { b: 2 })).toEqual({ ...row, details: { b: 2 } });
  });
});
