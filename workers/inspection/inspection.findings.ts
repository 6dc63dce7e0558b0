/**
 * The engine's findings as the gateway records them (`details.findings` of the audit row and the
 * live event), and the refusal a `block` finding makes. Pure.
 *
 * A recorded finding names the rule, its category, severity, action, where it was looked for and
 * the JSON path it was found at — never the matched text. Each carries the call's risk score so
 * far (`detail.riskScore`, inspection.score.ts); the audit row's `details.riskScore` is the
 * highest of them (durable-objects/audit.findings.ts), i.e. the score of the whole call.
 *
 * A location names object keys, and keys are caller or provider text scanned like values (keys of
 * 8+ characters, inspection.json.ts): a key can BE the secret. So every location that leaves the
 * inspection code — recorded findings, refusals — goes through `reportedLocation`, which shows
 * each span a rule matches in it as `[ruleId]`. Inside, locations keep the real key names: masking
 * addresses strings and keys by them (inspection.redact.ts).
 */
import type { Finding as CallFinding } from '../../durable-objects/guard.contract';
import { secretSpans } from '../lib/echo.safe';
import { AppError } from '../lib/errors';
import type { Engine, Finding } from './inspection.engine';
import type { Where } from './inspection.schema';
import { riskScore } from './inspection.score';
import { maskSpans } from './inspection.spans';
import type { CallInspection } from './inspection.types';

/** Findings recorded per scanned message; past it one `truncated` count says how many were left. */
export const MAX_RECORDED_FINDINGS = 50;

/** Rewrites a scanJson location (`$.query`) under the path of what was scanned (`$.params.arguments`). */
export function under(prefix: string, location: string | undefined): string {
  if (!location) return prefix;
  return prefix + location.slice(1);
}

/**
 * `location` as reported (audit row, event, refusal): each span a rule of `engine` matches in it,
 * scanned as `where`, replaced by `[ruleId]` — the rule's name, never the value or its length.
 * Then each span a built-in credential detector matches (lib/echo.safe.ts) likewise, whatever
 * packs the connection applies: a connection inspecting only for personal data still does not
 * record a key named like a token (`$["ghp_…"]`, found because of the e-mail under it).
 * The location is scanned whole (its keys are separated by `.`, `[`, `"`, `~` and spaces, which
 * no rule's value spans), and each quoted key with an escape in it (`["a\"b"]`) is also scanned
 * as the key itself: a match there shows the whole key as `["[ruleId]"]`. Skipped when no key in
 * it has 8 characters (keys shorter than that are not scanned, inspection.json.ts). Bounded: a
 * key over MAX_SHOWN_KEY characters is shown as `["…"]` first, and only recorded findings (≤ 50
 * per message) and refusals pass.
 */
export function reportedLocation(engine: Engine, where: Where, at: string): string {
  const location = elideLongKeys(at);
  if (!hasLongKey(location)) return location;
  const found = engine.scan(location, where);
  // A rule past its cap in the location leaves matches unreported: shown as nothing but the rule.
  const capped = found.find((f) => f.more);
  if (capped) return `[${capped.ruleId}]`;
  let out = maskSpans(location, found, (f) => `[${f.ruleId}]`);
  out = maskSpans(out, secretSpans(out), (f) => `[${f.ruleId}]`);
  if (out.includes('\\'))
    out = out.replace(QUOTED_KEY, (segment, body: string) => {
      const key = unquote(body);
      const hit = key === null ? null : engine.scan(key, where)[0];
      return hit ? `["[${hit.ruleId}]"]` : segment;
    });
  return out;
}

/**
 * A key longer than this is shown as `["…"]`: a location goes whole into rows and refusals and is
 * scanned each time it is reported, and a key can be megabytes long (50 findings under one 1 MB
 * key would be 50 MB to scan and store). With it, a reported location is at most about
 * maxJsonDepth (32) × this long, whatever the keys. Locations up to MAX_PLAIN_LOCATION are not
 * looked at for it.
 */
const MAX_SHOWN_KEY = 128;
const MAX_PLAIN_LOCATION = 2048;
const SEGMENT = /\.[A-Za-z_$][A-Za-z0-9_$]*|\["(?:[^"\\]|\\.)*"\]/g;

function elideLongKeys(location: string): string {
  if (location.length <= MAX_PLAIN_LOCATION) return location;
  return location.replace(SEGMENT, (segment) => (segment.length > MAX_SHOWN_KEY ? '["…"]' : segment));
}

/** A quoted key of a location (inspection.json.ts `childPath`): `["…"]`, escapes inside. */
const QUOTED_KEY = /\["((?:[^"\\]|\\.)*)"\]/g;

function hasLongKey(location: string): boolean {
  if (location.includes('["')) return true;
  let run = 0;
  for (let i = 0; i < location.length; i++) {
    const c = location[i]!;
    run = c === '.' || c === '[' || c === ']' || c === '~' || c === ' ' || c === '$' ? 0 : run + 1;
    if (run >= 8) return true;
  }
  return false;
}

/** A quoted key's text (JSON string escapes, and childPath's `\'`), or null if not one. */
function unquote(body: string): string | null {
  try {
    return JSON.parse(`"${body.replace(/\\'/g, "'")}"`) as string;
  } catch {
    return null;
  }
}

/** Records `found` (from one scan) for the call; returns what goes into the audit row. */
export function recordFindings(
  inspection: CallInspection,
  found: readonly Finding[],
  where: Where,
  unit: number,
  prefix: string,
): CallFinding[] {
  inspection.found.push(...found);
  const score = riskScore(inspection.found);
  const out: CallFinding[] = found.slice(0, MAX_RECORDED_FINDINGS).map((f) => ({
    stage: 'inspection',
    kind: f.ruleId,
    severity: f.severity,
    unit,
    detail: {
      ruleId: f.ruleId,
      category: f.category,
      action: f.action,
      where,
      location: reportedLocation(inspection.engine, where, under(prefix, f.location)),
      ...(f.encoding ? { encoding: f.encoding } : {}),
      riskScore: score,
    },
  }));
  if (found.length > MAX_RECORDED_FINDINGS)
    out.push(truncated(found.length - MAX_RECORDED_FINDINGS, unit, score));
  return out;
}

/** The one finding that says how many were left out of the record (an LLM answer's, past the cap). */
export function truncatedFinding(inspection: CallInspection, omitted: number): CallFinding {
  return truncated(omitted, 0, riskScore(inspection.found));
}

function truncated(omitted: number, unit: number, score: number): CallFinding {
  return {
    stage: 'inspection',
    kind: 'truncated',
    severity: 'info',
    unit,
    detail: { omitted, riskScore: score },
  };
}

/** The first `block` finding, most severe first. */
export function blockingFinding(found: readonly Finding[]): Finding | null {
  const rank = { critical: 4, high: 3, medium: 2, low: 1 } as const;
  let worst: Finding | null = null;
  for (const f of found)
    if (f.action === 'block' && (!worst || rank[f.severity] > rank[worst.severity])) worst = f;
  return worst;
}

/** The refusal of a blocked request or result: the rule and category, never the matched text. */
export function blockedError(engine: Engine, f: Finding, where: Where, at: string): AppError {
  const location = reportedLocation(engine, where, at);
  return new AppError('content_blocked', {
    message: `Blocked by content inspection: rule ${f.ruleId} (${f.category}) matched the ${whereNoun(where)}`,
    details: { ruleId: f.ruleId, category: f.category, severity: f.severity, where, location },
  });
}

function whereNoun(where: Where): string {
  switch (where) {
    case 'args':
      return 'request arguments';
    case 'result':
      return 'result';
    case 'prompt':
      return 'prompt';
    case 'completion':
      return 'completion';
  }
}
