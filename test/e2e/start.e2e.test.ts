/**
 * `npm start` (scripts/start.ts) as a developer runs it, on its own ports and state directory:
 *   - ADMIN_API_KEY, PORT and DEMO_UPSTREAM_PORT from the environment win over .dev.vars;
 *   - the printed client configs work as printed: the Cursor and VS Code ones with the official MCP client,
 *     the Claude Desktop one by spawning its command, args and env as Claude Desktop does (the mcp-remote
 *     bridge, a devDependency so npx finds it locally);
 *   - a taken port (even one that accepts and never answers) ends start-up with one line naming the port
 *     and its variable;
 *   - SIGTERM after start-up and SIGINT during it leave no runtime/wrangler/workerd process behind, exit 0, quietly;
 *   - the Worker log it shows logs a kill switch refusal at info (not a red ERROR) and has no colour
 *     under NO_COLOR.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort, newApiKey, ROOT } from '../../scripts/local-stack';

const stateDirs: string[] = [];
afterAll(() => {
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  output: () => string;
  /** Every process seen below start.ts (the runtime runs detached, in its own group, but is still its child). */
  descendants: Set<number>;
  exited: Promise<number | null>;
}

const running: Started[] = [];
// A failed test must not leave its stack running: kill what it started that is still alive.
afterEach(() => {
  for (const run of running.splice(0)) {
    const pids = run.child.pid ? [run.child.pid, ...run.descendants] : [...run.descendants];
    for (const pid of alive(pids)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});

/** Live (non-zombie) process ids and their parents, from /proc. */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z') table.set(Number(entry), Number(ppid));
    } catch {
      // exited while we looked
    }
  }
  return table;
}

function collectDescendants(root: number, into: Set<number>): void {
  const table = processTable();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of table) {
      if ((ppid === root || into.has(ppid)) && !into.has(pid)) {
        into.add(pid);
        grew = true;
      }
    }
  }
}

/** The process among `pids` that holds the listening TCP socket of `port` (from /proc), or null. */
function listenerOf(port: number, pids: Iterable<number>): number | null {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // st 0A = LISTEN
      if (cols[3] === '0A' && Number.parseInt(cols[1]?.split(':')[1] ?? '', 16) === port)
        inodes.add(cols[9]!);
    }
  }
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return pid;
      }
    } catch {
      // exited, or an fd closed while we looked
    }
  }
  return null;
}

const procText = (pid: number, file: 'comm' | 'cmdline') => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
};

const alive = (pids: Iterable<number>) => {
  const table = processTable();
  return [...pids].filter((pid) => table.has(pid));
};

function start(env: Record<string, string>): Started {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'igris-start-'));
  stateDirs.push(stateDir);
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      // wrangler's `#!/usr/bin/env node` must find Node 22, as under `npm start`.
      PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
      IGRIS_STATE_DIR: stateDir,
      WRANGLER_SEND_METRICS: 'false',
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const descendants = new Set<number>();
  const watch = setInterval(() => child.pid && collectDescendants(child.pid, descendants), 200);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      clearInterval(watch);
      resolve(code);
    }),
  );
  const run = { child, output: () => output, descendants, exited };
  running.push(run);
  return run;
}

async function until(condition: () => boolean, what: string, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The pretty-printed JSON block that follows `heading` in the banner. */
function printedJson(output: string, heading: string): Record<string, unknown> {
  const lines = output.slice(output.indexOf(heading)).split('\n').slice(1);
  const end = lines.indexOf('}');
  return JSON.parse(lines.slice(0, end + 1).join('\n')) as Record<string, unknown>;
}

/** A socket that accepts connections and never answers (the case that used to hang start-up). */
async function silentListener(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function callEcho(url: string, headers: Record<string, string>): Promise<unknown> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: 'start-e2e', version: '1.0.0' });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: 'echo', arguments: { message: 'as printed' } });
    return result.content;
  } finally {
    await transport.terminateSession().catch(() => undefined);
    await client.close();
  }
}

describe('npm start', () => {
  it.each([
    ['PORT', 'gateway'],
    ['DEMO_UPSTREAM_PORT', 'demo server'],
  ])('a taken %s (%s) ends start-up with one clear line and exit 1', async (variable) => {
    const taken = await silentListener();
    try {
      const other = await freePort();
      const ports =
        variable === 'PORT'
          ? { PORT: String(taken.port), DEMO_UPSTREAM_PORT: String(other) }
          : { PORT: String(other), DEMO_UPSTREAM_PORT: String(taken.port) };
      const run = start({ ...ports, ADMIN_API_KEY: newApiKey() });
      expect(await run.exited).toBe(1);
      expect(run.output()).toContain(`[igris] port ${taken.port} is already in use (${variable})`);
      expect(run.output()).toContain(`set ${variable} to a free port`);
      expect(run.output()).not.toMatch(/^\s+at /m); // no stack trace
      expect(run.output()).not.toContain('EADDRINUSE');
      expect(alive(run.descendants)).toEqual([]);
    } finally {
      await taken.close();
    }
  });

  it('uses ADMIN_API_KEY and both ports from the environment, prints configs that work as printed, and SIGTERM leaves nothing running', async () => {
    const [port, upstreamPort] = [await freePort(), await freePort()];
    const key = newApiKey();
    const run = start({ PORT: String(port), DEMO_UPSTREAM_PORT: String(upstreamPort), ADMIN_API_KEY: key });
    await until(
      () => run.output().includes('Ctrl+C stops everything.') || run.child.exitCode !== null,
      'start',
    );
    const output = run.output();
    expect(output, output).toContain('Igris Edge is running.');
    expect(output).toContain(`API key      ${key}`);
    expect(output).toContain('ADMIN_API_KEY from the environment');
    expect(output).toContain(`Gateway      http://127.0.0.1:${port}`);
    expect(output).toContain(`Demo server  http://127.0.0.1:${upstreamPort}/mcp`);
    // The gateway's port is workerd's socket bound to the Worker itself: Miniflare's entry Worker
    // (JavaScript in front of every request, absent on Cloudflare) is not on it, so its trigger path
    // reaches the Worker (the dashboard's page), and the printed Crons line is where a cron runs.
    const crons = /Crons {8}(http:\/\/127\.0\.0\.1:\d+\/cdn-cgi\/local\/scheduled)\?cron=<expression>/.exec(
      output,
    );
    expect(crons, output).not.toBeNull();
    const cron = `?cron=${encodeURIComponent('17 3 * * *')}&format=json`;
    const onGateway = await fetch(`http://127.0.0.1:${port}/cdn-cgi/local/scheduled${cron}`);
    expect(await onGateway.text()).not.toContain('"outcome"');
    const triggered = await fetch(`${crons![1]}${cron}`);
    expect(await triggered.json()).toMatchObject({ outcome: 'ok' });

    // The production hot path: the gateway's port is the one workerd's own socket, the Worker's
    // runtime — no wrangler dev in front (its proxy is a second workerd that queues every request).
    const live = alive(run.descendants);
    const workerds = live.filter((pid) => procText(pid, 'comm').trim() === 'workerd');
    expect(workerds).toHaveLength(1);
    expect(listenerOf(port, live)).toBe(workerds[0]);
    const cmdlines = live.map((pid) => procText(pid, 'cmdline')).join('\n');
    expect(cmdlines).not.toMatch(/wrangler\0dev\0/);
    // Secrets reach the runtime in its environment, which only its owner can read, not its command line.
    expect(cmdlines).toContain('scripts/runtime.ts');
    expect(cmdlines).not.toContain(key);

    const demoUrl = `http://127.0.0.1:${port}/v1/mcp/demo`;
    const cursor = printedJson(output, 'Cursor — .cursor/mcp.json:') as {
      mcpServers: Record<string, { url: string; headers: Record<string, string> }>;
    };
    const cursorServer = cursor.mcpServers['igris-demo']!;
    expect(cursorServer).toEqual({ url: demoUrl, headers: { Authorization: `Bearer ${key}` } });
    expect(await callEcho(cursorServer.url, cursorServer.headers)).toEqual([
      { type: 'text', text: 'as printed' },
    ]);

    const vscode = printedJson(output, 'VS Code — .vscode/mcp.json:') as {
      servers: Record<string, { type: string; url: string; headers: Record<string, string> }>;
    };
    const vscodeServer = vscode.servers['igris-demo']!;
    expect(vscodeServer.type).toBe('http');
    expect(await callEcho(vscodeServer.url, vscodeServer.headers)).toEqual([
      { type: 'text', text: 'as printed' },
    ]);

    const desktop = printedJson(output, 'Claude Desktop — claude_desktop_config.json') as {
      mcpServers: Record<string, { command: string; args: string[]; env: Record<string, string> }>;
    };
    const bridge = desktop.mcpServers['igris-demo']!;
    expect(bridge.command).toBe('npx');
    expect(bridge.args.slice(0, 3)).toEqual(['-y', 'mcp-remote', demoUrl]);
    // mcp-remote expands ${VAR} in --header from its environment: the same header the Cursor config sends.
    const header = bridge.args[bridge.args.indexOf('--header') + 1]!;
    const expanded = header.replace(/\$\{(\w+)\}/g, (_m, name: string) => bridge.env[name] ?? '');
    expect(expanded).toBe(`Authorization:Bearer ${key}`);
    const home = mkdtempSync(path.join(os.tmpdir(), 'igris-desktop-home-')); // mcp-remote keeps state in ~
    stateDirs.push(home);
    const desktopTransport = new StdioClientTransport({
      command: bridge.command,
      args: bridge.args,
      env: {
        PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
        HOME: home,
        ...bridge.env,
      },
      cwd: ROOT,
      stderr: 'pipe',
    });
    const desktopClient = new Client({ name: 'claude-desktop-like', version: '1.0.0' });
    await desktopClient.connect(desktopTransport);
    try {
      const viaBridge = await desktopClient.callTool({ name: 'echo', arguments: { message: 'as printed' } });
      expect(viaBridge.content).toEqual([{ type: 'text', text: 'as printed' }]);
    } finally {
      await desktopClient.close();
    }
    expect(output).toContain(
      `claude mcp add --transport http igris-demo ${demoUrl} --header 'Authorization: Bearer ${key}'`,
    );

    // A kill switch refusal is an expected outcome: an info line, not `✘ [ERROR]`, and no ANSI colour.
    const api = `http://127.0.0.1:${port}/api/v1`;
    const auth = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const pulled = await fetch(`${api}/kill-switch`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ scope: 'connection', target: 'demo', reason: 'start e2e' }),
    });
    expect(pulled.status).toBe(201);
    const killSwitch = (await pulled.json()) as { id: string };
    await expect(callEcho(cursorServer.url, cursorServer.headers)).rejects.toThrow();
    const refusal = () =>
      run
        .output()
        .split('\n')
        .find((line) => line.includes('"code":"session_suspended"'));
    await until(() => refusal() !== undefined, 'the refusal in the Worker log', 30_000);
    expect(refusal()).toContain('"level":"info"');
    expect(refusal()).not.toContain('ERROR');
    expect(run.output()).not.toContain('\u001b[');
    await fetch(`${api}/kill-switch/${killSwitch.id}`, { method: 'DELETE', headers: auth });

    const descendants = [...run.descendants];
    expect(descendants.length).toBeGreaterThan(0);
    const before = run.output().length;
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(alive(descendants)).toEqual([]);
    expect(run.output().slice(before)).not.toMatch(/error|exited \(/i);
    // The gateway's port is free again.
    await new Promise<void>((resolve, reject) => {
      const probe = net.createServer().once('error', reject);
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  }, 240_000);

  it('SIGINT (Ctrl+C) during start-up stops the runtime and workerd and exits 0 without noise', async () => {
    const run = start({
      PORT: String(await freePort()),
      DEMO_UPSTREAM_PORT: String(await freePort()),
      ADMIN_API_KEY: newApiKey(),
    });
    // The runtime process running (after the migrations' short-lived wrangler): the stack is half up.
    const runtimeSeen = () =>
      [...run.descendants].some((pid) => {
        try {
          return /scripts\/runtime\.ts\0/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
        } catch {
          return false;
        }
      });
    await until(() => runtimeSeen() || run.child.exitCode !== null, 'the runtime to start');
    const before = run.output().length;
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(alive(run.descendants)).toEqual([]);
    expect(run.output().slice(before)).toBe('');
  }, 240_000);
});
