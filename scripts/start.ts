/**
 * `npm start` — the whole product on its embedded default, in one command.
 *
 * Secrets come from `.dev.vars` (created from .dev.vars.example on first run, with a fresh
 * ENCRYPTION_KEY, SESSION_SECRET and ADMIN_API_KEY). State persists under `.state/` between runs.
 * PORT overrides the gateway port (default 8787); DEMO_UPSTREAM_PORT the demo server's (3001).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ensureDemoConnection,
  newApiKey,
  newEncryptionKey,
  newSessionSecret,
  ROOT,
  startStack,
} from './local-stack.ts';

const DEV_VARS = path.join(ROOT, '.dev.vars');

function readDevVars(): Record<string, string> {
  if (!existsSync(DEV_VARS)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(DEV_VARS, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (match) vars[match[1]!] = match[2]!.replace(/^"(.*)"$/, '$1');
  }
  return vars;
}

function ensureDevVars(): Record<string, string> {
  const vars = readDevVars();
  let changed = false;
  if (!vars.ENCRYPTION_KEY) {
    vars.ENCRYPTION_KEY = newEncryptionKey();
    changed = true;
  }
  if (!vars.SESSION_SECRET) {
    vars.SESSION_SECRET = newSessionSecret();
    changed = true;
  }
  if (!vars.ADMIN_API_KEY) {
    vars.ADMIN_API_KEY = newApiKey();
    changed = true;
  }
  if (changed) {
    const template = readFileSync(path.join(ROOT, '.dev.vars.example'), 'utf8');
    const filled = template.replace(
      /^([A-Z0-9_]+)=.*$/gm,
      (_line, name: string) => `${name}=${vars[name] ?? ''}`,
    );
    writeFileSync(DEV_VARS, filled, { mode: 0o600 });
    console.log('[igris] wrote .dev.vars with fresh ENCRYPTION_KEY, SESSION_SECRET and ADMIN_API_KEY');
  }
  return vars;
}

async function main() {
  const vars = ensureDevVars();
  const port = Number(process.env.PORT ?? 8787);
  const upstreamPort = Number(process.env.DEMO_UPSTREAM_PORT ?? 3001);
  console.log(
    '[igris] starting workerd (wrangler dev) with local D1, KV and Durable Objects under .state/ …',
  );
  const stack = await startStack({
    port,
    persistTo: path.join(ROOT, '.state'),
    adminApiKey: vars.ADMIN_API_KEY!,
    encryptionKey: vars.ENCRYPTION_KEY!,
    sessionSecret: vars.SESSION_SECRET!,
    upstreamPort,
    verbose: process.env.VERBOSE === '1',
  });
  const demoUrl = await ensureDemoConnection(
    stack.gatewayUrl,
    vars.ADMIN_API_KEY!,
    `${stack.upstream!.url}/mcp`,
  );
  const config = {
    mcpServers: {
      'igris-demo': { url: demoUrl, headers: { Authorization: `Bearer ${vars.ADMIN_API_KEY}` } },
    },
  };
  console.log(`
Igris Edge is running.

  Gateway      ${stack.gatewayUrl}
  Dashboard    ${stack.gatewayUrl}/
  API          ${stack.gatewayUrl}/api/v1  (reference: ${stack.gatewayUrl}/api/v1/docs)
  Demo server  ${stack.upstream!.url}/mcp  (upstream of connection "demo")
  API key      ${vars.ADMIN_API_KEY}   (owner of organization "default"; from .dev.vars)

MCP client config (Claude Desktop / Cursor):
${JSON.stringify(config, null, 2)}

Ctrl+C stops everything.`);

  // Keep the Worker's own log visible after start-up (errors, bootstrap messages).
  stack.wrangler.stdout?.on('data', (chunk: Buffer) => process.stdout.write(chunk));
  stack.wrangler.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const shutdown = async () => {
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  stack.wrangler.on('exit', (code) => {
    console.error(`[igris] wrangler dev exited (${code})`);
    void stack.upstream?.close().then(() => process.exit(code ?? 1));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
