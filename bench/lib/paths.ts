/**
 * The paths a `tools/call` can take, all to the same upstream session:
 *   A  — direct to the upstream MCP server
 *   R  — through the gateway on the Worker runtime's own socket: the gateway's own cost, and since
 *        session 13 the port `npm start` serves (scripts/runtime.ts)
 *   B  — (results of older runs only) through wrangler dev's port, what `npm start` served before
 */
import type http from 'node:http';
import { keepAliveAgent, send } from './http.ts';
import type { Fire } from './load.ts';
import { echoCall, isResult, mcpHeaders, rpcId } from './mcp.ts';
import type { BenchStack } from './stack.ts';

export type PathName = 'A' | 'B' | 'R';

export interface CallPath {
  name: PathName;
  label: string;
  url: URL;
  headers: Record<string, string>;
}

export const PATH_LABELS: Record<PathName, string> = {
  A: 'direct',
  B: 'gateway (wrangler dev port)',
  R: 'gateway (runtime socket)',
};

export function callPaths(
  stack: BenchStack,
  slug: string,
  sessionId: string,
  extraHeaders: Record<string, string> = {},
): CallPath[] {
  const gatewayHeaders = mcpHeaders(sessionId, {
    Authorization: `Bearer ${stack.apiKey}`,
    'X-Igris-User': 'bench-user',
    'X-Igris-Metadata': JSON.stringify({ team: 'bench' }),
    ...extraHeaders,
  });
  const paths: CallPath[] = [
    {
      name: 'A',
      label: PATH_LABELS.A,
      url: new URL(`${stack.upstreamUrl}/mcp`),
      headers: mcpHeaders(sessionId),
    },
    {
      name: 'R',
      label: PATH_LABELS.R,
      url: new URL(`${stack.gatewayUrl}/v1/mcp/${slug}`),
      headers: gatewayHeaders,
    },
  ];
  return paths;
}

/** The first few failed answers per path, kept for the results file (a failing suite says why). */
const failures = new Map<PathName, string[]>();

export function failureSamples(): Record<string, string[]> {
  return Object.fromEntries(failures);
}

function noteFailure(path: CallPath, what: string): void {
  const list = failures.get(path.name) ?? [];
  if (list.length < 3) list.push(what.slice(0, 300));
  failures.set(path.name, list);
}

/** A Fire that sends one echo `tools/call` of `message` on `path` and checks it got a result. */
export function echoFire(path: CallPath, agent: http.Agent, message: string, timeoutMs = 15_000): Fire {
  return async () => {
    let res: Awaited<ReturnType<typeof send>>;
    try {
      res = await send(agent, path.url, {
        body: echoCall(rpcId(), message),
        headers: path.headers,
        timeoutMs,
      });
    } catch (err) {
      noteFailure(path, String(err));
      throw err;
    }
    const ok = isResult(res);
    if (!ok) noteFailure(path, `${res.status} ${res.text}`);
    return { ok, end: res.end };
  };
}

export function agentsFor(paths: CallPath[], maxSockets: number): Map<PathName, http.Agent> {
  return new Map(paths.map((p) => [p.name, keepAliveAgent(maxSockets)]));
}

export function destroyAgents(agents: Map<PathName, http.Agent>): void {
  for (const a of agents.values()) a.destroy();
}

/** ABBA over any number of paths: forward on even rounds, backward on odd ones, each path twice per round. */
export function abbaOrder<T>(items: readonly T[]): T[] {
  return [...items, ...[...items].reverse()];
}
