/**
 * Risk score of a call, 0–100, from its findings.
 *
 * Each distinct rule counts once, with its severity's weight as the probability that it is a real
 * attack; the score is the chance that at least one is: 100 × (1 − Π(1 − w)). One critical
 * finding scores 90, one high 60, two highs 84, one low 10 — more and worse findings always score
 * higher, and the score never passes 100. Findings of action `log` weigh half: a connection
 * chose to only record them.
 */
import type { Finding } from './inspection.engine.js';
import type { Severity } from './inspection.schema.js';

export const SEVERITY_WEIGHT: Record<Severity, number> = { critical: 0.9, high: 0.6, medium: 0.3, low: 0.1 };

export function riskScore(findings: readonly Pick<Finding, 'ruleId' | 'severity' | 'action'>[]): number {
  const strongest = new Map<string, number>();
  for (const f of findings) {
    const w = SEVERITY_WEIGHT[f.severity] * (f.action === 'log' ? 0.5 : 1);
    strongest.set(f.ruleId, Math.max(strongest.get(f.ruleId) ?? 0, w));
  }
  let clean = 1;
  for (const w of strongest.values()) clean *= 1 - w;
  return Math.round(100 * (1 - clean));
}
