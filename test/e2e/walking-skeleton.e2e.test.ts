import { describe, expect, inject, it } from 'vitest';
import { adminKey, connectClient, ensureConnection, gatewayUrl, setPolicy } from './helpers';

describe('walking skeleton: the official MCP client through the local runtime', () => {
  it('initializes, lists and calls tools through /v1/mcp/:slug with the credential injected', async () => {
    await ensureConnection('skeleton', `${inject('upstreamUrl')}/mcp`, 'skeleton-upstream-credential');
    await setPolicy('skeleton', [{ tool: '*', action: 'allow' }]);
    const { client, transport } = await connectClient('skeleton', { 'X-Igris-User': 'e2e@example.com' });
    expect(transport.sessionId).toBeTruthy();

    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'whoami', 'progress']));

    const echo = await client.callTool({ name: 'echo', arguments: { message: 'through the gateway' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'through the gateway' }]);

    // The upstream reports the headers it received: our credential, not the caller's ig_ key.
    const whoami = await client.callTool({ name: 'whoami', arguments: {} });
    const seen = JSON.parse((whoami.content as Array<{ text: string }>)[0]!.text) as Record<string, string>;
    expect(seen.authorization).toBe('Bearer skeleton-upstream-credential');
    expect(JSON.stringify(seen)).not.toContain(adminKey());
    expect(Object.keys(seen).some((h) => h.startsWith('x-igris'))).toBe(false);

    await transport.terminateSession();
    await client.close();
  });

  it('serves the dashboard and health check', async () => {
    const page = await fetch(`${gatewayUrl()}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Igris');
    expect((await fetch(`${gatewayUrl()}/healthz`)).status).toBe(200);
  });
});
