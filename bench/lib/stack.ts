/**
 * The system under test: `startStack` (the deploy bundle on workerd with local D1/KV/DOs on a
 * persist dir, exactly what `npm start` and the e2e tests run: scripts/runtime.ts) plus the demo
 * MCP server as its OWN process (so it can be pinned apart from the load generator's event loop,
 * and survives a runtime crash).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import {
  freePort,
  newApiKey,
  newEncryptionKey,
  newSessionSecret,
  ROOT,
  type RunningStack,
  signalGroup,
  startStack,
} from '../../scripts/local-stack.ts';
import { apiOk } from './http.ts';
import { descendants, type Placement, pin } from './procs.ts';

export interface BenchStack {
  gatewayUrl: string;
  upstreamUrl: string;
  apiKey: string;
  persistTo: string;
  port: number;
  stack: RunningStack;
  upstream: ChildProcess;
  /** The runtime's workerd process(es). */
  workerdPids: number[];
  /**
   * The Worker runtime's own socket: since session 13 the gateway's port itself (scripts/runtime.ts
   * has no proxy in front; since session 21 not even Miniflare's entry Worker, the socket is bound to
   * the Worker). Older runs, under wrangler dev, had a second one (their results say so).
   */
  runtimeUrl: string;
  /** SIGKILLs the runtime's whole process group (runtime + workerd), no shutdown of any kind. */
  crash(): void;
  /** Starts the runtime again on the same persist dir and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface StackConfig {
  persistTo: string;
  placement: Placement;
  /** Overrides of Worker vars (POLICY_CACHE_TTL_MS: the bench runs the production default). */
  vars: Record<string, string>;
}

export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on ${port}`);
}

export async function startUpstreamProcess(
  placement: Placement,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'demo-mcp-server.ts'), String(port)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(port);
  if (placement.pinned && child.pid) pin(child.pid, placement.upstream);
  return { child, url: `http://127.0.0.1:${port}` };
}

/**
 * Pins the runtime's workerd to the gateway's core: it is "the gateway" as `npm start` runs it. The
 * runtime's node process (scripts/runtime.ts) is off the request path and goes with the load generator.
 */
export function pinRuntime(stack: Pick<RunningStack, 'runtime'>, placement: Placement): number[] {
  const root = stack.runtime.pid;
  if (!root) return [];
  const workerds = descendants(root).filter((p) => p.comm === 'workerd');
  if (placement.pinned) {
    for (const p of descendants(root)) if (p.comm !== 'workerd') pin(p.pid, placement.loadGenerator);
    pin(root, placement.loadGenerator);
    for (const w of workerds) pin(w.pid, placement.workerd);
  }
  return workerds.map((w) => w.pid);
}

export async function startBenchStack(config: StackConfig): Promise<BenchStack> {
  const { child: upstream, url: upstreamUrl } = await startUpstreamProcess(config.placement);
  const port = await freePort();
  const apiKey = newApiKey();
  const encryptionKey = newEncryptionKey();
  const sessionSecret = newSessionSecret();
  const options = {
    port,
    persistTo: config.persistTo,
    adminApiKey: apiKey,
    encryptionKey,
    sessionSecret,
    demoUpstream: false,
    vars: config.vars,
  };
  let stack = await startStack(options);
  const bench: BenchStack = {
    gatewayUrl: stack.gatewayUrl,
    upstreamUrl,
    apiKey,
    persistTo: config.persistTo,
    port,
    stack,
    upstream,
    workerdPids: pinRuntime(stack, config.placement),
    runtimeUrl: stack.gatewayUrl,
    crash() {
      signalGroup(stack.runtime, 'SIGKILL');
    },
    async restart() {
      stack = await startStack(options);
      bench.stack = stack;
      bench.workerdPids = pinRuntime(stack, config.placement);
    },
    async stop() {
      await stack.stop();
      upstream.kill('SIGTERM');
    },
  };
  return bench;
}

export interface BenchConnection {
  id: string;
  slug: string;
}

/** Creates (or finds) a connection to the upstream's stateful /mcp endpoint, with a bearer credential injected. */
export async function ensureConnection(
  bench: Pick<BenchStack, 'gatewayUrl' | 'apiKey' | 'upstreamUrl'>,
  slug: string,
): Promise<BenchConnection> {
  try {
    const existing = await apiOk<BenchConnection>(
      bench.gatewayUrl,
      bench.apiKey,
      'GET',
      `/connections/${slug}`,
    );
    return { id: existing.id, slug };
  } catch {
    const created = await apiOk<BenchConnection>(bench.gatewayUrl, bench.apiKey, 'POST', '/connections', {
      slug,
      name: `bench ${slug}`,
      upstreamUrl: `${bench.upstreamUrl}/mcp`,
      authType: 'bearer',
      credential: 'bench-upstream-token',
    });
    return { id: created.id, slug };
  }
}

export async function setPolicy(
  bench: Pick<BenchStack, 'gatewayUrl' | 'apiKey'>,
  slug: string,
  rules: unknown[],
): Promise<void> {
  await apiOk(bench.gatewayUrl, bench.apiKey, 'PUT', `/connections/${slug}/policy`, { rules });
}
