/**
 * Fingerprints of listed items: SHA-256 of a canonical form of what a model is told about the
 * item (its description, schemas and annotations), so any change to what the model reads — and
 * only such a change — changes the fingerprint. Canonical = keys sorted at every depth, no
 * whitespace; `_meta` and unknown top-level fields are left out (they do not reach the model as
 * the tool's definition, and servers vary them freely). Pure, linear in the item's size.
 *
 * The hash is node:crypto's (workerd's native SHA-256; nodejs_compat, wrangler.toml): synchronous,
 * because the list stage fingerprints items inside a response stage's `onMessage`, which is
 * synchronous (gateway.stages.ts), to hide a changed tool in the very answer that shows the change.
 * The text is hashed as UTF-8 (canonicalJson's JSON.stringify escapes lone surrogates, so the text
 * is always well formed).
 */
import { createHash } from 'node:crypto';
import { isRecord } from '../lib/values.js';

export type ItemKind = 'tool' | 'prompt' | 'resource';

/** What each list method lists, and which fields of an item define it. */
export const LIST_KINDS: Readonly<
  Record<string, { key: string; kind: ItemKind; fields: readonly string[] }>
> = {
  'tools/list': {
    key: 'tools',
    kind: 'tool',
    fields: ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'],
  },
  'prompts/list': { key: 'prompts', kind: 'prompt', fields: ['name', 'title', 'description', 'arguments'] },
  'resources/list': {
    key: 'resources',
    kind: 'resource',
    fields: ['uri', 'name', 'title', 'description', 'mimeType', 'annotations'],
  },
};

/** One listed item as the integrity layer sees it. */
export interface ListedItem {
  kind: ItemKind;
  /** The tool/prompt name, or the resource URI. */
  name: string;
  /** The canonical definition (only the defining fields). */
  definition: Record<string, unknown>;
  fingerprint: string;
}

/** Deeper than this, a schema is cut (a hostile upstream must not exhaust the stack). */
const MAX_DEPTH = 32;

/** JSON with object keys sorted at every depth. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) return '"…"';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k], depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The item's identity and fingerprint, or null when it has no usable name. */
export function listedItem(kind: ItemKind, raw: unknown): ListedItem | null {
  if (!isRecord(raw)) return null;
  const spec = Object.values(LIST_KINDS).find((k) => k.kind === kind)!;
  const name = kind === 'resource' ? raw.uri : raw.name;
  if (typeof name !== 'string' || name === '') return null;
  const definition: Record<string, unknown> = {};
  for (const field of spec.fields) if (raw[field] !== undefined) definition[field] = raw[field];
  return { kind, name, definition, fingerprint: fingerprintOf(definition) };
}

/** Lowercase hex SHA-256 of the canonical definition's UTF-8 bytes, synchronously (above). */
function fingerprintOf(definition: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(definition), 'utf8').digest('hex');
}

/** The name a policy and the hot-path state know an item by (gateway.lists.ts, policy.methods.ts). */
export function governedNameOf(kind: ItemKind, name: string): string {
  return kind === 'tool' ? name : `${kind}:${name}`;
}
