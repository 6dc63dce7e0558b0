/**
 * Tool labels (issue 22): the session-taint labels an admitted call to a tool adds to its agent
 * session, besides its rule's `labels`. Set per connection (`settings.toolLabels`: tool glob →
 * labels), defaulted from the tool's annotations in the **pinned** (approved) integrity baseline —
 * never the live answer, which the upstream controls. Pure; globs compiled once per settings object.
 *
 * Defaults (only hints the pinned definition states explicitly count):
 *   - `openWorldHint: true`                          → `untrusted_input` (it reads content from the open world);
 *   - `openWorldHint: true` and not `readOnlyHint: true` → also `sink:network` (it can send data out);
 *   - `destructiveHint: true`                        → `sink:write` (it changes or deletes state).
 * Explicit settings override: a tool any `toolLabels` glob matches gets exactly the union of those
 * globs' labels (`[]` clears the defaults).
 */
import { compileGlob, type GlobMatcher } from '../shared/policy.glob.js';
import { normalizeName, normalizePattern } from './policy.normalize.js';

export const UNTRUSTED_INPUT = 'untrusted_input';
export const SINK_NETWORK = 'sink:network';
export const SINK_WRITE = 'sink:write';

type Hints = Readonly<Record<string, boolean>> | null | undefined;

/** The labels the pinned annotations give a tool (see the module comment). */
export function defaultLabels(hints: Hints): readonly string[] {
  if (!hints) return NONE;
  const labels: string[] = [];
  if (hints.openWorldHint === true) {
    labels.push(UNTRUSTED_INPUT);
    if (hints.readOnlyHint !== true) labels.push(SINK_NETWORK);
  }
  if (hints.destructiveHint === true) labels.push(SINK_WRITE);
  return labels.length === 0 ? NONE : labels;
}

const NONE: readonly string[] = Object.freeze([]);

interface CompiledLabels {
  entries: Array<{ matches: GlobMatcher; labels: readonly string[] }>;
}
const compiledCache = new WeakMap<object, CompiledLabels>();

function compileLabels(settings: Readonly<Record<string, readonly string[]>>): CompiledLabels {
  let compiled = compiledCache.get(settings);
  if (!compiled) {
    compiled = {
      entries: Object.entries(settings).map(([glob, labels]) => ({
        matches: compileGlob(normalizePattern(glob)),
        labels,
      })),
    };
    compiledCache.set(settings, compiled);
  }
  return compiled;
}

/**
 * A tool's labels: the union of the matching `toolLabels` globs' labels when any matches, else the
 * defaults of its pinned annotations.
 */
export function toolLabels(
  tool: string,
  settings: Readonly<Record<string, readonly string[]>> | null | undefined,
  pinned: Hints,
): readonly string[] {
  if (settings) {
    const name = normalizeName(tool);
    let matched = false;
    const labels = new Set<string>();
    for (const entry of compileLabels(settings).entries) {
      if (!entry.matches(name)) continue;
      matched = true;
      for (const label of entry.labels) labels.add(label);
    }
    if (matched) return [...labels];
  }
  return defaultLabels(pinned);
}
