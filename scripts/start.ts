/**
 * `npm start` — the whole product on its embedded default, in one command.
 *
 * Settings (scripts/start.settings.ts): secrets from `.dev.vars` (created on first run); ADMIN_API_KEY,
 * PORT (gateway, default 8787) and DEMO_UPSTREAM_PORT (demo MCP server, default 3001) from the
 * environment first; state under IGRIS_STATE_DIR (default `.state/`).
 *
 * A taken port or a setting that cannot work ends start-up with one line that says which and what to do.
 * Ctrl+C (SIGINT) or SIGTERM, during start-up or after, stops wrangler, workerd and the demo server and
 * exits 0 without noise.
 */
import { type ClientTarget, clientConfigs } from '../sdk/src/igris.clients.ts';
import { ensureDemoConnection, type RunningStack, StartError, startStack } from './local-stack.ts';
import { loadSettings, type StartSettings } from './start.settings.ts';

const controller = new AbortController();
let starting: Promise<RunningStack> | undefined;
let stack: RunningStack | undefined;
let stopping = false;

async function shutdown(): Promise<never> {
  if (stopping) process.exit(0); // a second Ctrl+C: we are already stopping everything we started
  stopping = true;
  // Mid start-up, the abort makes startStack stop what it started before it settles.
  controller.abort();
  await starting?.catch(() => undefined);
  await stack?.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

/** The running key must be a key of this instance: a state bootstrapped with another key would refuse it. */
async function checkAdminKey(gatewayUrl: string, settings: StartSettings): Promise<void> {
  const res = await fetch(`${gatewayUrl}/api/v1/organizations/current`, {
    headers: { Authorization: `Bearer ${settings.adminApiKey}` },
    signal: AbortSignal.timeout(15_000),
  });
  await res.body?.cancel();
  if (res.status === 401) {
    throw new StartError(
      `ADMIN_API_KEY (from ${settings.adminApiKeySource === 'environment' ? 'the environment' : '.dev.vars'}) ` +
        `is not a key of the instance in ${settings.stateDir}: ADMIN_API_KEY only creates the owner key when ` +
        'that state is new. Use the key that state was created with, or start with an empty IGRIS_STATE_DIR.',
    );
  }
}

function banner(settings: StartSettings, running: RunningStack, demoUrl: string): string {
  const target: ClientTarget = {
    name: 'igris-demo',
    url: demoUrl,
    headers: { Authorization: `Bearer ${settings.adminApiKey}` },
  };
  const configs = clientConfigs(target);
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  return `
Igris Edge is running.

  Gateway      ${running.gatewayUrl}   (PORT=${settings.port})
  Dashboard    ${running.gatewayUrl}/
  API          ${running.gatewayUrl}/api/v1  (reference: ${running.gatewayUrl}/api/v1/docs)
  Crons        ${running.triggersUrl}?cron=<expression>  (runs the scheduled handler, as Cloudflare's cron triggers do)
  Demo server  ${running.upstream!.url}/mcp  (DEMO_UPSTREAM_PORT=${settings.upstreamPort}; upstream of connection "demo")
  API key      ${settings.adminApiKey}   (owner of organization "default"; ADMIN_API_KEY from ${settings.adminApiKeySource === 'environment' ? 'the environment' : '.dev.vars'})

MCP clients (each works as printed; docs/mcp-clients.md explains them):

Claude Desktop — claude_desktop_config.json (through the mcp-remote bridge):
${json(configs.claudeDesktop)}

Cursor — .cursor/mcp.json:
${json(configs.cursor)}

VS Code — .vscode/mcp.json:
${json(configs.vscode)}

Claude Code:
  ${configs.claudeCode}

MCP Inspector (lists the tools):
  ${configs.inspector}

Ctrl+C stops everything.`;
}

// wrangler colours its `✘ [ERROR]` / `▲ [WARNING]` lines whatever NO_COLOR says; honour it here.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point
const ANSI_ESCAPE = /\x1b\[[0-9;]*[A-Za-z]/g;

function forward(out: NodeJS.WriteStream) {
  const plain = Boolean(process.env.NO_COLOR);
  return (chunk: Buffer) => {
    if (stopping) return;
    const text = chunk.toString('utf8');
    out.write(plain ? text.replace(ANSI_ESCAPE, '') : text);
  };
}

async function main() {
  const settings = loadSettings();
  console.log(
    `[igris] bundling the Worker as it deploys and starting workerd with local D1, KV and Durable Objects under ${settings.stateDir} …`,
  );
  starting = startStack({
    port: settings.port,
    persistTo: settings.stateDir,
    adminApiKey: settings.adminApiKey,
    encryptionKey: settings.encryptionKey,
    sessionSecret: settings.sessionSecret,
    upstreamPort: settings.upstreamPort,
    verbose: settings.verbose,
    portNames: { gateway: 'PORT', upstream: 'DEMO_UPSTREAM_PORT' },
    signal: controller.signal,
  });
  stack = await starting;
  const running = stack;
  await checkAdminKey(running.gatewayUrl, settings);
  const demoUrl = await ensureDemoConnection(
    running.gatewayUrl,
    settings.adminApiKey,
    `${running.upstream!.url}/mcp`,
  );
  console.log(banner(settings, running, demoUrl));

  // Keep the Worker's own log visible after start-up (errors, bootstrap messages), until we stop.
  running.runtime.stdout?.on('data', forward(process.stdout));
  running.runtime.stderr?.on('data', forward(process.stderr));
  running.runtime.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`[igris] the runtime exited (${code ?? signal}); stopping`);
    void running.stop().then(() => process.exit(code || 1));
  });
}

main().catch(async (err: unknown) => {
  if (stopping) return; // interrupted during start-up: shutdown() exits
  await stack?.stop();
  if (err instanceof StartError) console.error(`[igris] ${err.message}`);
  else console.error('[igris] start failed:', err);
  process.exit(1);
});
