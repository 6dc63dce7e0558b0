/**
 * The LLM traffic of the benchmarks: the fake provider (test/e2e/llm.fake-provider.ts) and Portkey's
 * open-source gateway (`@portkey-ai/gateway`, its Node build) as processes of their own, the paths a
 * ~1 KB chat completion can take, and Fires that check each answer and time its first token.
 *
 *   A  — direct to the fake provider
 *   R  — Igris Edge on the Worker runtime's own socket, the port `npm start` serves
 *        (`/llm/<slug>/v1/chat/completions`)
 *   B  — (older results only) Igris Edge on wrangler dev's port
 *   P  — Portkey's gateway on Node (`x-portkey-provider: openai` + `x-portkey-custom-host`)
 *
 * Everything listens on 127.0.0.1; Portkey is only ever given the fake provider's loopback URL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, ROOT } from '../../scripts/local-stack.ts';
import { keepAliveAgent, send } from './http.ts';
import type { Fire } from './load.ts';
import { echoMessage } from './mcp.ts';
import type { PathName } from './paths.ts';
import { type Placement, pin } from './procs.ts';
import type { BenchStack } from './stack.ts';
import { waitForPort } from './stack.ts';

export type LlmPathName = PathName | 'P';

export const LLM_PATH_LABELS: Record<LlmPathName, string> = {
  A: 'direct to the fake provider',
  B: 'Igris Edge (wrangler dev port)',
  R: 'Igris Edge (runtime socket)',
  P: 'Portkey gateway (Node)',
};

export const LLM_MODEL = 'fake-gpt';
/** What the fake provider answers (FAKE_REPLY): a non-streamed answer must contain it. */
const REPLY_MARK = 'Hello from the fake provider.';

export interface LlmPath {
  name: LlmPathName;
  url: URL;
  headers: Record<string, string>;
}

export interface Proc {
  child: ChildProcess;
  url: string;
  stop(): void;
}

function stopper(child: ChildProcess, cleanup?: () => void): () => void {
  return () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    cleanup?.();
  };
}

/** The fake provider as its own process (pinned beside the MCP upstream), requiring `apiKey`. */
export async function startFakeProviderProcess(placement: Placement, apiKey: string): Promise<Proc> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    // It uses TypeScript parameter properties, which Node's type stripping alone refuses.
    [
      '--experimental-transform-types',
      '--no-warnings',
      path.join(ROOT, 'test', 'e2e', 'llm.fake-provider.ts'),
    ],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: String(port), FAKE_API_KEY: apiKey },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await waitForPort(port);
  if (placement.pinned && child.pid) pin(child.pid, placement.upstream);
  return { child, url: `http://127.0.0.1:${port}`, stop: stopper(child) };
}

export function portkeyVersion(): string {
  const pkg = path.join(ROOT, 'node_modules', '@portkey-ai', 'gateway', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/**
 * Portkey's gateway from npm (build/start-server.js, what `npx @portkey-ai/gateway` runs), pinned to
 * the gateway core like workerd: `--headless` and NODE_ENV=production (no console UI, no log
 * stream), a throwaway cwd and an environment with nothing but PATH (no proxy, no keys).
 * Its stderr is kept (the last few KB) so a failing path can say why.
 */
export async function startPortkey(
  placement: Placement,
): Promise<Proc & { stderr(): string; version: string }> {
  const port = await freePort();
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'igris-bench-portkey-'));
  const entry = path.join(ROOT, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
  const child = spawn(process.execPath, [entry, `--port=${port}`, '--headless'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const stop = stopper(child, () => rmSync(cwd, { recursive: true, force: true }));
  try {
    await waitForPort(port, 30_000);
  } catch (err) {
    stop();
    throw new Error(`Portkey's gateway did not start: ${String(err)}\n${stderr}`);
  }
  if (placement.pinned && child.pid) pin(child.pid, placement.workerd);
  return { child, url: `http://127.0.0.1:${port}`, stop, stderr: () => stderr, version: portkeyVersion() };
}

export function llmPaths(
  stack: BenchStack,
  slug: string,
  providerUrl: string,
  providerKey: string,
  portkeyUrl: string | null,
): LlmPath[] {
  const json = { 'Content-Type': 'application/json' };
  const igris = {
    ...json,
    Authorization: `Bearer ${stack.apiKey}`,
    'X-Igris-User': 'bench-user',
    'X-Igris-Metadata': JSON.stringify({ team: 'bench' }),
  };
  const route = `/llm/${slug}/v1/chat/completions`;
  const paths: LlmPath[] = [
    {
      name: 'A',
      url: new URL(`${providerUrl}/v1/chat/completions`),
      headers: { ...json, Authorization: `Bearer ${providerKey}` },
    },
  ];
  // The gateway's port is the runtime's own socket (B: wrangler dev's port, in older results only).
  paths.push({
    name: 'R',
    url: new URL(`${stack.gatewayUrl}${route}`),
    headers: igris,
  });
  if (portkeyUrl) {
    paths.push({
      name: 'P',
      url: new URL(`${portkeyUrl}/v1/chat/completions`),
      headers: {
        ...json,
        Authorization: `Bearer ${providerKey}`,
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': `${providerUrl}/v1`,
      },
    });
  }
  return paths;
}

/** A chat completion request of `bytes` bytes (a system prompt and a user message of random text). */
export function chatBody(bytes: number, stream: boolean): string {
  const shell = (content: string) =>
    JSON.stringify({
      model: LLM_MODEL,
      ...(stream ? { stream: true } : {}),
      messages: [
        { role: 'system', content: 'You are a benchmark. Answer briefly.' },
        { role: 'user', content },
      ],
    });
  const overhead = Buffer.byteLength(shell(''));
  return shell(echoMessage(Math.max(1, bytes - overhead)));
}

const failures = new Map<LlmPathName, string[]>();

/** The first failed answers per path, for the results file. */
export function llmFailureSamples(): Record<string, string[]> {
  return Object.fromEntries([...failures].map(([k, v]) => [`llm ${k}`, v]));
}

function noteFailure(p: LlmPath, what: string): void {
  const list = failures.get(p.name) ?? [];
  if (list.length < 3) list.push(what.slice(0, 300));
  failures.set(p.name, list);
}

/** Non-streamed: the whole JSON answer, checked for the fake provider's reply. */
export function chatFire(p: LlmPath, agent: http.Agent, body: string, timeoutMs = 15_000): Fire {
  return async () => {
    let res: Awaited<ReturnType<typeof send>>;
    try {
      res = await send(agent, p.url, { body, headers: p.headers, timeoutMs });
    } catch (err) {
      noteFailure(p, String(err));
      throw err;
    }
    const ok = res.status === 200 && res.text.includes(REPLY_MARK);
    if (!ok) noteFailure(p, `${res.status} ${res.text}`);
    return { ok, end: res.end };
  };
}

export interface StreamTiming {
  ok: boolean;
  /** performance.now() when the first chunk carrying content (the first token) arrived. */
  firstToken: number;
  end: number;
}

/** True when an SSE block holds a chat chunk whose delta has non-empty content. */
function hasToken(block: string): boolean {
  for (const line of block.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '[DONE]') continue;
    try {
      const chunk = JSON.parse(data) as { choices?: Array<{ delta?: { content?: unknown } }> };
      const content = chunk.choices?.[0]?.delta?.content;
      if (typeof content === 'string' && content.length > 0) return true;
    } catch {
      // not JSON: not a token
    }
  }
  return false;
}

/**
 * Streamed: reads the SSE answer as it arrives, timestamps the first token, and checks the stream
 * ended with `data: [DONE]`. Same client code for every path.
 */
export function streamOnce(agent: http.Agent, p: LlmPath, body: string, timeoutMs = 15_000) {
  return new Promise<StreamTiming>((resolve, reject) => {
    const buf = Buffer.from(body);
    const req = http.request(
      {
        agent,
        host: p.url.hostname,
        port: p.url.port,
        path: p.url.pathname,
        method: 'POST',
        headers: { ...p.headers, 'Content-Length': buf.length, Accept: 'text/event-stream' },
      },
      (res) => {
        let pending = '';
        let all = '';
        let firstToken = 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = performance.now();
          all += chunk;
          if (firstToken) return;
          pending += chunk;
          let cut = pending.indexOf('\n\n');
          while (cut >= 0 && !firstToken) {
            if (hasToken(pending.slice(0, cut))) firstToken = at;
            pending = pending.slice(cut + 2);
            cut = pending.indexOf('\n\n');
          }
        });
        res.on('end', () => {
          const end = performance.now();
          const ok = res.statusCode === 200 && firstToken > 0 && all.includes('data: [DONE]');
          if (!ok) noteFailure(p, `${res.statusCode} ${all}`);
          resolve({ ok, firstToken, end });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.end(buf);
  });
}

export function llmAgents(paths: LlmPath[], maxSockets: number): Map<LlmPathName, http.Agent> {
  return new Map(paths.map((p) => [p.name, keepAliveAgent(maxSockets)]));
}

/** One streamed call; a failure is noted for the results file, as the other Fires do. */
export async function streamFire(agent: http.Agent, p: LlmPath, body: string): Promise<StreamTiming> {
  try {
    return await streamOnce(agent, p, body);
  } catch (err) {
    noteFailure(p, String(err));
    throw err;
  }
}
