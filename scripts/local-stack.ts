/**
 * Starts the whole product locally on its embedded default: the Worker as `wrangler deploy` bundles
 * it, on workerd (scripts/runtime.ts: Miniflare, no `wrangler dev` in front) with local D1, KV,
 * Durable Objects and queues persisted under `persistTo`, migrations applied first, the dashboard
 * served from the Worker's assets, and a demo upstream MCP server beside it.
 *
 * Used by `npm start` (scripts/start.ts) and by the end-to-end tests (test/e2e/global-setup.ts),
 * so the tests exercise exactly what a developer runs.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type RunningUpstream, startUpstream } from './demo-mcp-server.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');

export interface StackOptions {
  port: number;
  persistTo: string;
  adminApiKey: string;
  encryptionKey: string;
  /** HMAC secret for session cookies; a fresh one per start when omitted (sessions then end with the process). */
  sessionSecret?: string;
  /** Port of the demo upstream; 0 = any free port. */
  upstreamPort?: number;
  /** Extra Worker var overrides (passed in the runtime's environment, see runtimeVarsEnv). */
  vars?: Record<string, string>;
  /** Extra environment for the runtime (e.g. NODE_EXTRA_CA_CERTS: a local https server the Worker may fetch). */
  env?: Record<string, string>;
  /** Forward the runtime's output to this process's stdout/stderr. */
  verbose?: boolean;
  /** Start the demo upstream MCP server (default true). */
  demoUpstream?: boolean;
  /** Names of the settings that chose the ports, for error messages (`npm start`: PORT, DEMO_UPSTREAM_PORT). */
  portNames?: { gateway: string; upstream: string };
  /** Aborting stops whatever has started (the runtime, the demo server) and rejects startStack. */
  signal?: AbortSignal;
  /** The Worker's entry instead of wrangler.toml's `main` (the benchmarks' wrappers of the product). */
  main?: string;
  /** Open workerd's inspector on this port (a CPU profile); closed otherwise, as under `npm start`. */
  inspectorPort?: number;
  /**
   * Characters of the runtime's output kept for `logs()` (default 5 MB): past it, the older half
   * goes. The gc benchmark re-reads the whole of it twice a second, so it keeps much less.
   */
  outputCap?: number;
}

/** Signals the process group a detached child leads (the runtime and its workerd); nothing if it is gone. */
export function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, sig);
  } catch {
    // the group is gone
  }
}

/** A start-up failure whose message says everything (what, which port or setting, what to do): print it alone. */
export class StartError extends Error {
  override name = 'StartError';
}

/** How long one readiness probe may take: a socket that accepts but never answers must not hang start-up. */
export const PROBE_TIMEOUT_MS = 2_000;

function portInUse(port: number, name: string | undefined): StartError {
  const setting = name ? `; stop what uses it or set ${name} to a free port` : '';
  return new StartError(`port ${port} is already in use${name ? ` (${name})` : ''}${setting}`);
}

/** Fails with one clear StartError when `port` cannot be bound on `host` (checked before anything starts). */
export async function assertPortFree(port: number, name?: string, host = '127.0.0.1'): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' ? portInUse(port, name) : new StartError(`port ${port}: ${err.message}`),
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

export interface RunningStack {
  gatewayUrl: string;
  /**
   * Miniflare's cron trigger, `<url>?cron=<expression>` runs the Worker's scheduled handler. On a
   * port of its own: the gateway's port is workerd's socket straight to the Worker (scripts/runtime.ts).
   */
  triggersUrl: string;
  upstream: RunningUpstream | null;
  /** scripts/runtime.ts, leader of its own process group (workerd is in it). */
  runtime: ChildProcess;
  /** Everything the runtime and workerd printed (for tests that search the logs). */
  logs: () => string;
  stop(): Promise<void>;
}

export function newApiKey(): string {
  return `ig_${randomBytes(32).toString('base64url')}`;
}

export function newEncryptionKey(): string {
  return randomBytes(32).toString('base64');
}

export function newSessionSecret(): string {
  return randomBytes(32).toString('base64url');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export const baseEnv = () => ({
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  // Miniflare's local trace collector (the "local explorer" observability) attaches a streaming tail
  // Worker to every invocation, each Durable Object RPC included: about a sixth of workerd's CPU per
  // gateway call under wrangler dev, measured with perf. scripts/runtime.ts never turns it on; this
  // keeps it off for the wrangler commands run here too (and for `npx wrangler dev` from this env).
  X_LOCAL_OBSERVABILITY: 'false',
  NO_COLOR: '1',
  FORCE_COLOR: '0',
  CI: 'true',
});

/** Newest modification time of the files under `paths` (0 when none exist). */
function newestMtime(paths: string[]): number {
  let newest = 0;
  for (const entry of paths) {
    if (!existsSync(entry)) continue;
    const stat = statSync(entry);
    if (stat.isDirectory()) {
      newest = Math.max(newest, newestMtime(readdirSync(entry).map((name) => path.join(entry, name))));
    } else newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

/**
 * The dashboard's static build (dashboard/dist, served by the Worker's assets): `vite build` when
 * dist is missing or any dashboard source is newer than it — a stat walk otherwise, so starts stay fast.
 */
export function ensureDashboardBuilt(): void {
  const dashboard = path.join(ROOT, 'dashboard');
  const built = path.join(dashboard, 'dist', 'index.html');
  const sources = ['src', 'public', 'index.html', 'vite.config.ts'].map((p) => path.join(dashboard, p));
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(sources)) return;
  const result = spawnSync('npm', ['run', '--silent', 'dashboard:build'], {
    cwd: ROOT,
    env: baseEnv(),
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error('dashboard build failed');
}

async function waitForHealth(
  url: string,
  child: ChildProcess,
  logs: () => string,
  options: { port: number; portName?: string; signal?: AbortSignal; timeoutMs?: number },
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    if (child.exitCode !== null || child.signalCode !== null) {
      // workerd's bind failure is buried in the runtime's output; say it in one line.
      if (/EADDRINUSE|address already in use/i.test(logs())) throw portInUse(options.port, options.portName);
      throw new Error(`the runtime exited with ${child.exitCode ?? child.signalCode}:\n${logs()}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not up yet, or a probe that timed out
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  // What the runtime said last usually says why (a build error in the Worker, a crashed workerd).
  throw new StartError(
    `the gateway on port ${options.port} did not answer /healthz within ${timeoutMs / 1000} s; ` +
      `the runtime's last output:\n${logs().slice(-4_000)}`,
  );
}

/** The runtime process's arguments (scripts/runtime.ts), after `node`. */
export function runtimeArgs(o: {
  port: number;
  triggersPort?: number;
  persistTo: string;
  main?: string;
  inspectorPort?: number;
}): string[] {
  return [
    path.join(ROOT, 'scripts', 'runtime.ts'),
    '--port',
    String(o.port),
    ...(o.triggersPort ? ['--triggers-port', String(o.triggersPort)] : []),
    '--persist-to',
    o.persistTo,
    ...(o.main ? ['--main', o.main] : []),
    ...(o.inspectorPort ? ['--inspector-port', String(o.inspectorPort)] : []),
  ];
}

/** The Worker vars for the runtime, in its environment: secrets stay off the command line. */
export function runtimeVarsEnv(vars: Record<string, string>): { IGRIS_RUNTIME_VARS: string } {
  return { IGRIS_RUNTIME_VARS: JSON.stringify(vars) };
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { signal } = options;
  // Ports first: a taken port is the commonest failure and the cheapest to report clearly.
  await assertPortFree(options.port, options.portNames?.gateway);
  if (options.demoUpstream !== false)
    await assertPortFree(options.upstreamPort ?? 0, options.portNames?.upstream);
  ensureDashboardBuilt();
  signal?.throwIfAborted();
  const upstream =
    options.demoUpstream === false
      ? null
      : await startUpstream({ port: options.upstreamPort ?? 0, name: 'igris-demo' }).catch((err) => {
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
            throw portInUse(options.upstreamPort ?? 0, options.portNames?.upstream);
          throw err;
        });
  if (signal?.aborted) {
    await upstream?.close();
    signal.throwIfAborted();
  }

  const vars: Record<string, string> = {
    ENVIRONMENT: 'development',
    ALLOW_PRIVATE_UPSTREAMS: 'true',
    ADMIN_API_KEY: options.adminApiKey,
    ENCRYPTION_KEY: options.encryptionKey,
    SESSION_SECRET: options.sessionSecret ?? newSessionSecret(),
    ...options.vars,
  };
  const triggersPort = await freePort();
  const args = runtimeArgs({
    port: options.port,
    triggersPort,
    persistTo: options.persistTo,
    main: options.main,
    inspectorPort: options.inspectorPort,
  });
  const outputCap = options.outputCap ?? 5_000_000;
  let output = '';
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...baseEnv(), ...options.env, ...runtimeVarsEnv(vars) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const collect = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    if (output.length > outputCap) output = output.slice(-Math.floor(outputCap / 2));
    if (options.verbose) process.stdout.write(text);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const gatewayUrl = `http://127.0.0.1:${options.port}`;
  // The runtime runs in its own process group (detached) with workerd inside it: signal the group, so no
  // workerd outlives us, and finish with SIGKILL for anything that ignored SIGTERM.
  const killGroup = (sig: NodeJS.Signals) => signalGroup(child, sig);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup('SIGTERM');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      killGroup('SIGKILL');
      await upstream?.close();
    })();
    return stopped;
  };
  const onAbort = () => void stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await waitForHealth(gatewayUrl, child, () => output, {
      port: options.port,
      portName: options.portNames?.gateway,
      signal,
    });
  } catch (err) {
    await stop();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  const triggersUrl = `http://127.0.0.1:${triggersPort}/cdn-cgi/local/scheduled`;
  return { gatewayUrl, triggersUrl, upstream, runtime: child, logs: () => output, stop };
}

/** Idempotently creates the demo connection and its policy (safe to run on every start). */
export async function ensureDemoConnection(
  gatewayUrl: string,
  apiKey: string,
  upstreamUrl: string,
): Promise<string> {
  const headers = { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' };
  // Every call has a deadline, so a gateway that stops answering cannot hang start-up.
  const signal = () => AbortSignal.timeout(15_000);
  const slug = 'demo';
  const existing = await fetch(`${gatewayUrl}/api/v1/connections/${slug}`, { headers, signal: signal() });
  const connection = {
    name: 'Demo MCP server',
    upstreamUrl,
    authType: 'bearer',
    credential: 'demo-upstream-token',
  };
  const res =
    existing.status === 404
      ? await fetch(`${gatewayUrl}/api/v1/connections`, {
          method: 'POST',
          headers,
          signal: signal(),
          body: JSON.stringify({ slug, ...connection }),
        })
      : await fetch(`${gatewayUrl}/api/v1/connections/${slug}`, {
          method: 'PATCH',
          headers,
          signal: signal(),
          body: JSON.stringify(connection),
        });
  if (!res.ok) throw new Error(`demo connection: ${res.status} ${await res.text()}`);
  const policy = await fetch(`${gatewayUrl}/api/v1/connections/${slug}/policy`, {
    headers,
    signal: signal(),
  });
  const current = (await policy.json()) as { version: number };
  if (current.version === 0) {
    const put = await fetch(`${gatewayUrl}/api/v1/connections/${slug}/policy`, {
      method: 'PUT',
      headers,
      signal: signal(),
      body: JSON.stringify({
        rules: [
          { tool: 'delete_*', action: 'deny', reason: 'destructive tools are blocked in the demo' },
          { tool: '*', action: 'allow' },
        ],
      }),
    });
    if (!put.ok) throw new Error(`demo policy: ${put.status} ${await put.text()}`);
  }
  return `${gatewayUrl}/v1/mcp/${slug}`;
}
