/**
 * Walks a JSON value (tool arguments, a tool result, a chat request) and scans every string in
 * it, keys included, within bounds: nesting depth, number of nodes and total characters. Past a
 * bound the walk stops and reports `scan_limit` (an answer nested 10,000 deep is itself a sign).
 *
 * Keys shorter than 8 characters are not scanned: nothing a rule looks for fits in them, and
 * objects with many short keys would pay a scan per key.
 *
 * Each finding gets `location`, the JSON path of its string (`$.messages[2].content`, keys that
 * are not identifiers in brackets: `$['x-y']`); a finding in an object key has the path of that
 * member followed by `~key`. Offsets are within that string. Iterative, so depth cannot overflow
 * the stack.
 */
import type { Finding, ScanLimits } from './inspection.engine.js';

export interface JsonScanHooks {
  text(s: string): Finding[];
  limit(): Finding[];
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return IDENT.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key).replace(/'/g, "\\'")}]`;
}

export function scanJsonValue(value: unknown, limits: ScanLimits, hooks: JsonScanHooks): Finding[] {
  const out: Finding[] = [];
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: '$', depth: 0 }];
  let nodes = 0;
  let chars = 0;
  const limited = (path: string) => {
    for (const f of hooks.limit()) out.push({ ...f, location: path });
  };
  const scanString = (s: string, path: string) => {
    chars += s.length;
    if (chars > limits.maxJsonChars) return false;
    for (const f of hooks.text(s)) out.push({ ...f, location: path });
    return true;
  };
  while (stack.length) {
    const { value: v, path, depth } = stack.pop()!;
    if (++nodes > limits.maxJsonNodes || depth > limits.maxJsonDepth) {
      limited(path);
      break;
    }
    if (typeof v === 'string') {
      if (!scanString(v, path)) {
        limited(path);
        break;
      }
    } else if (Array.isArray(v)) {
      // Pushed in reverse so findings come out in document order.
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], path: childPath(path, i), depth: depth + 1 });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        stack.push({ value: child, path: childPath(path, key), depth: depth + 1 });
      }
      const keysOk = entries.every(
        ([key]) => key.length < 8 || scanString(key, `${childPath(path, key)}~key`),
      );
      if (!keysOk) {
        limited(path);
        break;
      }
    }
  }
  return out;
}
