/**
 * Restores placeholders (`[EMAIL_1]` → the original) in an answer that arrives in chunks (SSE
 * deltas), where a placeholder may be split anywhere: `[EMA` + `IL_1]`.
 *
 * Each push emits everything that can no longer be the start of a placeholder and holds back only
 * the tail that still could be: from the last `[` on, when that tail is a proper prefix of a known
 * placeholder. A placeholder holds exactly one `[`, so no earlier `[` can start one that is still
 * open, and every complete placeholder lies wholly inside the emitted part. At most the length of
 * the longest placeholder is ever held back; `flush()` releases it when the answer ends.
 */

const PLACEHOLDER = /\[[A-Z]{2,16}_\d{1,6}\]/g;

export interface Unmasker {
  /** The text of this chunk that is final, with placeholders restored. */
  push(chunk: string): string;
  /** What is still held back, at the end of the answer. */
  flush(): string;
}

export function createUnmasker(mapping: ReadonlyMap<string, string>): Unmasker {
  const prefixes = new Set<string>();
  let longest = 0;
  for (const key of mapping.keys()) {
    longest = Math.max(longest, key.length);
    for (let i = 1; i < key.length; i++) prefixes.add(key.slice(0, i));
  }
  const restore = (s: string) => (s.includes('[') ? s.replace(PLACEHOLDER, (p) => mapping.get(p) ?? p) : s);
  let pending = '';
  return {
    push(chunk) {
      const buf = pending + chunk;
      const last = buf.lastIndexOf('[');
      const open = last >= 0 && buf.length - last < longest && prefixes.has(buf.slice(last));
      const hold = open ? last : buf.length;
      pending = buf.slice(hold);
      return restore(buf.slice(0, hold));
    },
    flush() {
      const rest = pending;
      pending = '';
      return restore(rest);
    },
  };
}

/** Restores placeholders in a whole answer (not streamed). */
export function unmask(text: string, mapping: ReadonlyMap<string, string>): string {
  const u = createUnmasker(mapping);
  return u.push(text) + u.flush();
}
