/**
 * The system under test: `startStack` (wrangler dev → workerd with local D1/KV/DOs on a persist
 * dir, exactly what `npm start` and the e2e tests run) plus the demo MCP server as its OWN process
 * (so it can be pinned apart from the load generator's event loop, and survives a runtime crash).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
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
  /** Every workerd of the runtime (wrangler dev runs two: its proxy and the Worker's own runtime). */
  workerdPids: number[];
  /**
   * The Worker runtime's own entry socket, bypassing wrangler dev's proxy runtime (a hop that does not
   * exist on Cloudflare). Null when it could not be found.
   */
  runtimeUrl: string | null;
  /**
   * wrangler dev rebuilds and reloads the Worker when a source file changes (its file watcher cannot
   * be turned off); the runtime's socket then moves. Finds it again (and re-pins), once for many callers.
   */
  refreshRuntime(): Promise<string | null>;
  /** How many times wrangler reloaded the Worker during the run (figures then mix code versions). */
  reloads(): number;
  /** SIGKILLs the runtime's whole process group (wrangler + workerd), no shutdown of any kind. */
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
 * Pins both workerd processes (wrangler's proxy runtime and the Worker's runtime) to the gateway's
 * core: together they are "the gateway" as `npm start` runs it. wrangler's node process is off the
 * request path and goes with the load generator.
 */
export function pinRuntime(stack: Pick<RunningStack, 'wrangler'>, placement: Placement): number[] {
  const root = stack.wrangler.pid;
  if (!root) return [];
  const workerds = descendants(root).filter((p) => p.comm === 'workerd');
  if (placement.pinned) {
    for (const p of descendants(root)) if (p.comm !== 'workerd') pin(p.pid, placement.loadGenerator);
    pin(root, placement.loadGenerator);
    for (const w of workerds) pin(w.pid, placement.workerd);
  }
  return workerds.map((w) => w.pid);
}

/** TCP ports a process listens on (from /proc, no external tool needed). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // st 0A = LISTEN
      if (cols[3] === '0A' && inodes.has(cols[9] ?? ''))
        ports.push(Number.parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

/** The runtime's entry socket: the port other than the public one that serves the Worker's /healthz. */
export async function findRuntimeUrl(workerds: number[], publicPort: number): Promise<string | null> {
  for (const pid of workerds) {
    const ports = listeningPorts(pid);
    if (ports.includes(publicPort)) continue;
    for (const port of ports) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
        const text = await res.text();
        if (res.ok && text.includes('"ok"')) return `http://127.0.0.1:${port}`;
      } catch {
        // not an HTTP port
      }
    }
  }
  return null;
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
  let refreshing: Promise<string | null> | null = null;
  let reloadsBefore = 0;
  const bench: BenchStack = {
    gatewayUrl: stack.gatewayUrl,
    upstreamUrl,
    apiKey,
    persistTo: config.persistTo,
    port,
    stack,
    upstream,
    workerdPids: pinRuntime(stack, config.placement),
    runtimeUrl: null,
    refreshRuntime() {
      refreshing ??= (async () => {
        bench.workerdPids = pinRuntime(stack, config.placement);
        bench.runtimeUrl = await findRuntimeUrl(bench.workerdPids, port);
        return bench.runtimeUrl;
      })().finally(() => {
        refreshing = null;
      });
      return refreshing;
    },
    reloads() {
      return reloadsBefore + (stack.logs().match(/Reloading local server/g)?.length ?? 0);
    },
    crash() {
      signalGroup(stack.wrangler, 'SIGKILL');
    },
    async restart() {
      reloadsBefore += stack.logs().match(/Reloading local server/g)?.length ?? 0;
      stack = await startStack(options);
      bench.stack = stack;
      bench.workerdPids = pinRuntime(stack, config.placement);
      bench.runtimeUrl = await findRuntimeUrl(bench.workerdPids, port);
    },
    async stop() {
      await stack.stop();
      upstream.kill('SIGTERM');
    },
  };
  bench.runtimeUrl = await findRuntimeUrl(bench.workerdPids, port);
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
