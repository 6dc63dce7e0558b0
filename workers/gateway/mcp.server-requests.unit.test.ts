import { describe, expect, it } from 'vitest';
import { DROP, type StageCall } from './gateway.stages';
import { serverIdKeys } from './mcp.server-ids';
import { serverRequestStage } from './mcp.server-requests';
import { checkResponse, restoreCancelled } from './mcp.server-responses';

const keys = serverIdKeys({ ENCRYPTION_KEY: 'dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy0wMDA=' });

function stageCall(over: Partial<StageCall> = {}): StageCall {
  return {
    orgId: 'org_a',
    connectionId: 'conn_1',
    identity: { user: null, traceId: 't', metadata: null, metadataError: null, teams: [] },
    policy: null,
    teams: [],
    prompt: null,
    orgName: 'a',
    connectionSlug: 'c',
    findings: [],
    mcpSessionId: 'sess-1',
    actor: 'key:k1',
    serverIdKeys: () => keys,
    ...over,
  } as StageCall;
}
const verifier = {
  keys,
  binding: { orgId: 'org_a', connectionId: 'conn_1', sessionId: 'sess-1', caller: 'key:k1' },
};

describe('serverRequestStage', () => {
  const stage = serverRequestStage(stageCall());

  it('spares the parse of ordinary answers: a result (no method) and a notification (no id)', () => {
    expect(
      stage.wants!('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"the method"}]}}'),
    ).toBe(false);
    expect(stage.wants!('{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}')).toBe(
      false,
    );
    expect(stage.wants!('{"jsonrpc":"2.0","id":7,"method":"ping"}')).toBe(true);
    // A key spelled with a \u escape may be "method" or "id": parse and look.
    expect(stage.wants!('{"jsonrpc":"2.0","\\u0069d":7,"method":"ping"}')).toBe(true);
  });

  it('mints the id of a server request, keeps everything else, and leaves other messages alone', () => {
    const minted = stage.onMessage({ jsonrpc: '2.0', id: 7, method: 'roots/list', params: {} }) as Record<
      string,
      unknown
    >;
    expect(minted).toMatchObject({ jsonrpc: '2.0', method: 'roots/list', params: {} });
    expect(checkResponse({ jsonrpc: '2.0', id: minted.id as string, result: {} }, verifier)).toEqual({
      kind: 'answers',
      name: 'response:roots/list',
      restored: { jsonrpc: '2.0', id: 7, result: {} },
    });
    expect(stage.onMessage({ jsonrpc: '2.0', id: 1, result: {} })).toBeUndefined();
    expect(stage.onMessage({ jsonrpc: '2.0', method: 'notifications/message', params: {} })).toBeUndefined();
    expect(stage.onMessage('text')).toBeUndefined();
  });

  it('drops a request it cannot mint (an over-long id, or no key), with a finding', () => {
    const call = stageCall();
    expect(serverRequestStage(call).onMessage({ jsonrpc: '2.0', id: 'x'.repeat(257), method: 'ping' })).toBe(
      DROP,
    );
    const keyless = stageCall({ serverIdKeys: () => [] });
    expect(serverRequestStage(keyless).onMessage({ jsonrpc: '2.0', id: 1, method: 'ping' })).toBe(DROP);
    expect(call.findings).toMatchObject([
      { kind: 'server_request_dropped', detail: { reason: 'id_not_mintable' } },
    ]);
    expect(keyless.findings).toMatchObject([
      { kind: 'server_request_dropped', detail: { reason: 'no_minting_key' } },
    ]);
  });
});

describe('checkResponse and restoreCancelled', () => {
  it('refuse without a verifier, and say why', () => {
    const refused = checkResponse({ jsonrpc: '2.0', id: 'srv-1', result: {} }, null);
    expect(refused).toMatchObject({ kind: 'refused', error: { code: 'unsolicited_response', status: 400 } });
  });

  it('restore a cancellation of a minted id, refuse a bad one, pass any other', () => {
    const minted = (
      serverRequestStage(stageCall()).onMessage({ jsonrpc: '2.0', id: 'a', method: 'ping' }) as { id: string }
    ).id;
    const cancel = (requestId: unknown) => ({
      jsonrpc: '2.0' as const,
      method: 'notifications/cancelled',
      params: { requestId },
    });
    expect(restoreCancelled(cancel(minted), verifier)).toEqual({ restored: cancel('a') });
    expect(restoreCancelled(cancel(`${minted}x`), verifier)).toMatchObject({
      error: { code: 'unsolicited_response' },
    });
    expect(restoreCancelled(cancel(minted), null)).toMatchObject({ error: { code: 'unsolicited_response' } });
    expect(restoreCancelled(cancel(3), verifier)).toBeNull();
  });
});
