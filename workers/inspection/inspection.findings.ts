/**
 * The engine's findings as the gateway records them (`details.findings` of the audit row and the
 * live event), and the refusal a `block` finding makes. Pure.
 *
 * A recorded finding names the rule, its category, severity, action, where it was looked for and
 * the JSON path it was found at — never the matched text. Each carries the call's risk score so
 * far (`detail.riskScore`, inspection.score.ts); the audit row's `details.riskScore` is the
 * highest of them (durable-objects/audit.findings.ts), i.e. the score of the whole call.
 */
import type { Finding as CallFinding } from '../../durable-objects/guard.contract';
import { AppError } from '../lib/errors';
import type { Finding } from './inspection.engine';
import type { Where } from './inspection.schema';
import { riskScore } from './inspection.score';
import type { CallInspection } from './inspection.types';

/** Findings recorded per scanned message; past it one `truncated` count says how many were left. */
export const MAX_RECORDED_FINDINGS = 50;

/** Rewrites a scanJson location (`$.query`) under the path of what was scanned (`$.params.arguments`). */
export function under(prefix: string, location: string | undefined): string {
  if (!location) return prefix;
  return prefix + location.slice(1);
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
      location: under(prefix, f.location),
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
export function blockedError(f: Finding, where: Where, location: string): AppError {
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
