/**
 * Findings in an audit row live in `details.findings`, an array, in the order they were made:
 * request-side findings are written with the row (workers/gateway/gateway.findings.ts),
 * response-side ones arrive with the outcome and the guard appends them here. Pure.
 */
import { recordOrEmpty } from '../workers/lib/values';
import type { Finding } from './guard.contract';

/**
 * `details` with `findings` appended to what it already holds. Content inspection's findings carry
 * the call's risk score so far (`detail.riskScore`); the row's `details.riskScore` is the highest.
 */
export function withFindings(details: unknown, findings: readonly Finding[]): Record<string, unknown> {
  const base = recordOrEmpty(details);
  const existing = Array.isArray(base.findings) ? (base.findings as Finding[]) : [];
  const all = [...existing, ...findings];
  const scores = all.flatMap((f) => (typeof f.detail?.riskScore === 'number' ? [f.detail.riskScore] : []));
  return { ...base, findings: all, ...(scores.length > 0 ? { riskScore: Math.max(...scores) } : {}) };
}
