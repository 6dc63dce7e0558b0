/** Ready-to-paste client configurations for a connection (no secrets: the key is a placeholder). */
import {
  type ClientTarget,
  claudeDesktopConfig as claudeDesktop,
  cursorConfig as cursor,
} from '../../../sdk/src/igris.clients';

export const KEY_PLACEHOLDER = 'ig_your_api_key';

export function gatewayBase(gatewayUrl: string): string {
  return gatewayUrl.replace(/\/v1\/mcp\/[^/]+$/, '');
}

// The shapes come from the SDK's igris.clients.ts, the module `npm start` prints with too.
const target = (slug: string, gatewayUrl: string): ClientTarget => ({
  name: slug,
  url: gatewayUrl,
  headers: { Authorization: `Bearer ${KEY_PLACEHOLDER}` },
});

/** Cursor (~/.cursor/mcp.json) and any client that speaks Streamable HTTP with headers (seed 001). */
export function cursorConfig(slug: string, gatewayUrl: string): string {
  return JSON.stringify(cursor(target(slug, gatewayUrl)), null, 2);
}

/** Claude Desktop (claude_desktop_config.json): remote servers through the mcp-remote bridge. */
export function claudeDesktopConfig(slug: string, gatewayUrl: string): string {
  return JSON.stringify(claudeDesktop(target(slug, gatewayUrl)), null, 2);
}

export function sdkSnippet(slug: string, gatewayUrl: string): string {
  return `import { Igris } from '@igris-edge/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';

const igris = new Igris({ apiKey: process.env.IGRIS_API_KEY, baseUrl: '${gatewayBase(gatewayUrl)}' });

const client = new Client({ name: 'my-agent', version: '1.0.0' });
await client.connect(
  await igris.transport('${slug}', { user: 'alice@company.com', metadata: { role: 'developer' } }),
);
const { tools } = await client.listTools();`;
}

/** Seed 001's slug rules, checked before sending (the API checks them again). */
export function slugProblem(slug: string): string | null {
  if (slug.length < 3) return 'slug must be at least 3 characters';
  if (slug.length > 64) return 'slug must be at most 64 characters';
  if (!/^[a-z0-9_-]*$/.test(slug)) return 'slug may only contain lowercase letters, digits, "_" and "-"';
  if (!/^[a-z0-9]/.test(slug)) return 'slug must start with a lowercase letter or digit';
  return null;
}
