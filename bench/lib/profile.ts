/**
 * A CPU profile of the Worker's isolate through the inspector that `scripts/runtime.ts --inspector-port`
 * exposes (Chrome DevTools Protocol over WebSocket): where the gateway's CPU goes, by function.
 * The Durable Objects run in the same isolate locally, so guard and hub code is included; D1 and
 * KV are simulated by other services of the runtime and are not.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  /** Samples per script line (1-based) that had this node on top. */
  positionTicks?: Array<{ line: number; ticks: number }>;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  target: string;
  /** Profiled wall time and the share of it the isolate was busy (not idle). */
  wallMs: number;
  busyShare: number;
  /** Functions by self time (share of busy samples). */
  self: Array<{ fn: string; share: number }>;
  /** Functions by inclusive time: share of busy samples with the function anywhere on the stack. */
  inclusive: Array<{ fn: string; share: number }>;
  /**
   * Busy samples by source module (through the bundle's source map): each sample goes to the
   * innermost frame that is our code, a package, or a runtime-internal module, so native work
   * (SQLite exec, fetch, stream reads) counts for the module that called it.
   */
  modules: Array<{ module: string; share: number }>;
  /** Share of busy samples with the module anywhere on the stack. */
  modulesInclusive: Array<{ module: string; share: number }>;
  /**
   * Self samples by source line (`module:line`, through the source map): where inside a hot module
   * the time goes. Shares of all samples that carry a line (V8's positionTicks).
   */
  lines: Array<{ line: string; share: number }>;
  /** Script URLs seen in the profile, and whether a source map was found for each. */
  scripts: Array<{ url: string; sourceMap: boolean }>;
}

const IDLE = new Set(['(idle)', '(program)', '(root)']);

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Per generated line: [generated column, source index, source line] triples, ascending (source map v3 "mappings"). */
function decodeMappings(mappings: string): Array<Array<[number, number, number]>> {
  const lines: Array<Array<[number, number, number]>> = [];
  let source = 0;
  let sourceLine = 0;
  for (const line of mappings.split(';')) {
    const segments: Array<[number, number, number]> = [];
    let column = 0;
    for (const segment of line.split(',')) {
      if (!segment) continue;
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      column += fields[0] ?? 0;
      if (fields.length >= 4) {
        source += fields[1]!;
        sourceLine += fields[2]!;
      }
      segments.push([column, source, sourceLine]);
    }
    lines.push(segments);
  }
  return lines;
}

/** Maps a bundle position to a module name (`workers/gateway/gateway.forward.ts`, `hono`, …), or with `withLine` to `module:line`. */
function sourceMapper(
  bundlePath: string | null,
): ((line: number, column: number, withLine?: boolean) => string | null) | null {
  if (!bundlePath) return null;
  let map: { sources: string[]; mappings: string };
  try {
    map = JSON.parse(readFileSync(`${bundlePath}.map`, 'utf8')) as typeof map;
  } catch {
    return null;
  }
  const lines = decodeMappings(map.mappings);
  const modules = map.sources.map(moduleOf);
  return (line, column, withLine = false) => {
    const segments = lines[line];
    if (!segments?.length) return null;
    let found: [number, number] | null = null;
    for (const [col, source, sourceLine] of segments) {
      if (col > column) break;
      found = [source, sourceLine];
    }
    // A whole-line position (positionTicks has no column): the line's first mapping.
    if (found === null && withLine) found = [segments[0]![1], segments[0]![2]];
    if (found === null) return null;
    const module = modules[found[0]] ?? null;
    return module && withLine ? `${module}:${found[1] + 1}` : module;
  };
}

function moduleOf(source: string): string {
  const normalized = source.replaceAll('\\', '/');
  const nm = normalized.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = normalized.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const ours = /(workers|durable-objects|bench)\/.*$/.exec(normalized);
  return ours ? ours[0] : (normalized.split('/').pop() ?? normalized);
}

function label(frame: CallFrame): string {
  if (frame.functionName.startsWith('(')) return frame.functionName;
  const file = frame.url.split('/').pop() ?? '';
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

/** Where a profiled script lives on disk: file:// URLs as they are; bare names through `resolve`. */
export type ScriptResolver = (url: string) => string | null;

export async function cpuProfile(
  inspectorPort: number,
  during: () => Promise<void>,
  resolve: ScriptResolver = () => null,
): Promise<ProfileSummary> {
  const list = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as Array<{
    title?: string;
    webSocketDebuggerUrl?: string;
  }>;
  const target =
    list.find((t) => t.webSocketDebuggerUrl && !/^(__|miniflare|core:)/i.test(t.title ?? '')) ?? list[0];
  if (!target?.webSocketDebuggerUrl) throw new Error(`no inspector target on port ${inspectorPort}`);

  // wrangler's inspector proxy refuses upgrades without an Origin; Node's WebSocket (undici) takes headers.
  const WebSocketWithHeaders = WebSocket as unknown as new (
    url: string,
    init: { headers: Record<string, string> },
  ) => WebSocket;
  const ws = new WebSocketWithHeaders(target.webSocketDebuggerUrl, {
    headers: { Origin: `http://127.0.0.1:${inspectorPort}` },
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error('inspector websocket failed')), { once: true });
  });
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.addEventListener('message', (event) => {
    const msg = JSON.parse(String(event.data)) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
    };
    if (msg.id === undefined) return;
    const w = waiting.get(msg.id);
    waiting.delete(msg.id);
    if (msg.error) w?.reject(new Error(msg.error.message));
    else w?.resolve(msg.result);
  });
  const call = <T>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });

  try {
    await call('Profiler.enable');
    await call('Profiler.setSamplingInterval', { interval: 200 });
    await call('Profiler.start');
    await during();
    const { profile } = await call<{ profile: Profile }>('Profiler.stop');
    return summarize(target.title ?? 'worker', profile, resolve);
  } finally {
    ws.close();
  }
}

function summarize(target: string, profile: Profile, resolve: ScriptResolver): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const mappers = new Map<string, ReturnType<typeof sourceMapper>>();
  const moduleOfFrame = (frame: CallFrame): string | null => {
    if (frame.url.startsWith('cloudflare-internal:'))
      return `(runtime) ${frame.url.slice('cloudflare-internal:'.length)}`;
    if (!frame.url) return null;
    if (!mappers.has(frame.url)) {
      mappers.set(
        frame.url,
        sourceMapper(frame.url.startsWith('file://') ? fileURLToPath(frame.url) : resolve(frame.url)),
      );
    }
    return mappers.get(frame.url)?.(frame.lineNumber, frame.columnNumber) ?? null;
  };
  const lineOf = (frame: CallFrame, line: number): string => {
    const { url } = frame;
    // A native function has no source: its name says more than a line number would.
    if (!url) return `(native) ${frame.functionName || '(anonymous)'}`;
    if (url.startsWith('cloudflare-internal:')) return `${url}:${line}`;
    return mappers.get(url)?.(line - 1, 0, true) ?? `${url.split('/').pop()}:${line}`;
  };
  const lineTicks = new Map<string, number>();
  let allTicks = 0;
  for (const n of profile.nodes) {
    if (!n.positionTicks) continue;
    moduleOfFrame(n.callFrame); // makes the script's mapper
    for (const { line, ticks } of n.positionTicks) {
      const key = lineOf(n.callFrame, line);
      lineTicks.set(key, (lineTicks.get(key) ?? 0) + ticks);
      allTicks += ticks;
    }
  }
  const modules = new Map<string, number>();
  const modulesInclusive = new Map<string, number>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(profile.samples[i]!);
    if (!node || IDLE.has(node.callFrame.functionName)) continue;
    busy += dt;
    const name = label(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + dt);
    const seen = new Set<string>();
    const seenModules = new Set<string>();
    let innermost: string | null = null;
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName.startsWith('(')) continue;
      const module = moduleOfFrame(frame);
      if (module !== null) {
        innermost ??= module;
        if (!seenModules.has(module)) {
          seenModules.add(module);
          modulesInclusive.set(module, (modulesInclusive.get(module) ?? 0) + dt);
        }
      }
      const fn = label(frame);
      if (seen.has(fn)) continue;
      seen.add(fn);
      inclusive.set(fn, (inclusive.get(fn) ?? 0) + dt);
    }
    const key = innermost ?? '(unattributed)';
    modules.set(key, (modules.get(key) ?? 0) + dt);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([fn, t]) => ({ fn, share: busy ? t / busy : 0 }));
  const topModules = (m: Map<string, number>, n: number) =>
    top(m, n).map(({ fn, share }) => ({ module: fn, share }));
  return {
    target,
    wallMs: total / 1000,
    busyShare: total ? busy / total : 0,
    self: top(self, 20),
    inclusive: top(inclusive, 40),
    modules: topModules(modules, 25),
    modulesInclusive: topModules(modulesInclusive, 25),
    lines: [...lineTicks.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 40)
      .map(([line, ticks]) => ({ line, share: allTicks ? ticks / allTicks : 0 })),
    scripts: [...mappers.entries()].map(([url, mapper]) => ({ url, sourceMap: mapper !== null })),
  };
}
