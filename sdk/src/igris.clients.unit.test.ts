import { describe, expect, it } from 'vitest';
import { claudeDesktopConfig, clientConfigs, headerEnvName, shellQuote } from './igris.clients.js';

const target = {
  name: 'igris-demo',
  url: 'http://127.0.0.1:8787/v1/mcp/demo',
  headers: { Authorization: 'Bearer ig_key', 'X-Igris-User': 'alice@example.com' },
};

describe('clientConfigs — one config per client, in the shape that client reads', () => {
  it('Claude Desktop runs the mcp-remote bridge with headers from env (expanded by mcp-remote)', () => {
    expect(clientConfigs(target).claudeDesktop).toEqual({
      mcpServers: {
        'igris-demo': {
          command: 'npx',
          args: [
            '-y',
            'mcp-remote',
            target.url,
            '--header',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: mcp-remote's own ${VAR} syntax
            'Authorization:${IGRIS_AUTH}',
            '--header',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: mcp-remote's own ${VAR} syntax
            'X-Igris-User:${IGRIS_X_IGRIS_USER}',
          ],
          env: { IGRIS_AUTH: 'Bearer ig_key', IGRIS_X_IGRIS_USER: 'alice@example.com' },
        },
      },
    });
  });

  it('adds --allow-http only for plain-http hosts other than loopback', () => {
    const remote = claudeDesktopConfig({ ...target, url: 'http://gateway.internal/v1/mcp/demo' });
    expect(remote.mcpServers['igris-demo']!.args).toContain('--allow-http');
    const https = claudeDesktopConfig({ ...target, url: 'https://igris.example.com/v1/mcp/demo' });
    expect(https.mcpServers['igris-demo']!.args).not.toContain('--allow-http');
  });

  it('Cursor takes url + headers; VS Code takes servers with type http', () => {
    const configs = clientConfigs(target);
    expect(configs.cursor).toEqual({
      mcpServers: { 'igris-demo': { url: target.url, headers: target.headers } },
    });
    expect(configs.vscode).toEqual({
      servers: { 'igris-demo': { type: 'http', url: target.url, headers: target.headers } },
    });
  });

  it('Claude Code and the Inspector get shell command lines with quoted headers', () => {
    const configs = clientConfigs(target);
    expect(configs.claudeCode).toBe(
      "claude mcp add --transport http igris-demo http://127.0.0.1:8787/v1/mcp/demo --header 'Authorization: Bearer ig_key' --header 'X-Igris-User: alice@example.com'",
    );
    expect(configs.inspector).toBe(
      "npx @modelcontextprotocol/inspector --cli http://127.0.0.1:8787/v1/mcp/demo --transport http --header 'Authorization: Bearer ig_key' --header 'X-Igris-User: alice@example.com' --method tools/list",
    );
  });

  it('quotes for POSIX shells and names env variables mcp-remote can expand', () => {
    expect(shellQuote(`{"role":"it's"}`)).toBe(`'{"role":"it'\\''s"}'`);
    expect(headerEnvName('X-Igris-Metadata')).toBe('IGRIS_X_IGRIS_METADATA');
  });
});
