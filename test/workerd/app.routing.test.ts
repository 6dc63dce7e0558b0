/**
 * workers/app.ts `createFetch`: paths under /v1/ and /llm/ are tried against an app holding only the
 * gateway's routes, and anything it does not match goes on to the whole app. These prove the split
 * changes no answer: gateway routes still answer, and the whole app's routes and its 404 still
 * answer for paths the gateway app tries first.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { bootstrapDefault, call, createConnection, json, mcp, putPolicy } from './helpers';

describe('the gateway routes tried first, the whole app after them', () => {
  beforeAll(async () => {
    await bootstrapDefault();
    await createConnection('routing-split');
    await putPolicy('routing-split', [{ tool: '*', action: 'allow' }]);
  });

  it('a gateway route answers from the gateway app (MCP through the connection)', async () => {
    const res = await mcp('routing-split', 'tools/list', {});
    expect(res.status).toBe(200);
  });

  it("a path under /v1/ that no gateway route matches gets the whole app's REST 404", async () => {
    for (const path of ['/v1/nothing-here', '/v1/mcp/routing-split/extra/segments']) {
      const res = await call('POST', path, { body: {} });
      expect(res.status, path).toBe(404);
      const body = await json<{ error: { code: string; details: { location: string; path: string } } }>(res);
      expect(body.error.code).toBe('not_found');
      expect(body.error.details).toEqual({ location: 'path', path });
    }
  });

  it('a method the MCP endpoint does not take is 405 with Allow, as before', async () => {
    const res = await call('PUT', '/v1/mcp/routing-split', { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBeTruthy();
  });

  it('routes of the whole app are unchanged: the API, the health check', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/api/v1/connections')).status).toBe(200);
    expect((await call('GET', '/api/v1/connections', { key: null })).status).toBe(401);
  });
});
