/**
 * The rate windows a call is admitted against (the guard counts them: durable-objects/rate.window.ts).
 * Pure. Each matched rule's `rateLimit` is a requests window; an LLM rule's `tokenLimit` is a tokens
 * window (checked at admit, charged with the call's actual tokens when its usage is known).
 */
import type { RateCheck } from '../../durable-objects/guard.contract';
import type { Principal } from '../app.types';
import { isRecord } from '../lib/values';
import type { Decision } from '../policy/policy.evaluate';
import type { RateLimit } from '../policy/policy.schema';
import type { CallIdentity } from './gateway.identity';
import type { UnitDecision } from './gateway.stages';

/** What a window's `by` can name. */
export interface RateKeyed {
  identity: CallIdentity | null;
  principal: Principal | null;
  connectionId: string | null;
}

/** The windows of the matched rules, each keyed by what its `by` names for this call. */
export function rateChecks<U>(decisions: readonly UnitDecision<U>[], keyed: RateKeyed): RateCheck[] {
  const checks: RateCheck[] = [];
  for (const d of decisions) {
    const decision = d.decision;
    if (!decision || decision.ruleIndex === null) continue;
    if (decision.rateLimit) checks.push(check(decision, decision.rateLimit, keyed, 'requests'));
    if (decision.tokenLimit) checks.push(check(decision, decision.tokenLimit, keyed, 'tokens'));
  }
  return checks;
}

function check(
  decision: Decision,
  limit: RateLimit,
  keyed: RateKeyed,
  unit: 'requests' | 'tokens',
): RateCheck {
  // Requests windows keep the key they always had, so counts survive this code's deploy.
  const kind = unit === 'tokens' ? 'tok:' : '';
  return {
    ruleIndex: decision.ruleIndex!,
    key: `${kind}v${decision.policyVersion}:r${decision.ruleIndex}:${limit.by}=${rateKeyValue(limit.by, keyed)}`,
    limit: limit.limit,
    windowSeconds: limit.windowSeconds,
    ...(unit === 'tokens' ? { unit } : {}),
  };
}

/** Calls with no value for the `by` field share one bucket per rule ("(none)"), so omitting it is no way around a limit. */
export function rateKeyValue(by: string, keyed: RateKeyed): string {
  if (by === 'user') return keyed.identity?.user ?? '(none)';
  if (by === 'apiKey') return keyed.principal?.apiKeyId ?? '(none)';
  if (by === 'connection') return keyed.connectionId ?? '(none)';
  let value: unknown = keyed.identity?.metadata ?? undefined;
  for (const key of by.slice('metadata.'.length).split('.')) {
    value = isRecord(value) ? value[key] : undefined;
  }
  return value === undefined || value === null || typeof value === 'object' ? '(none)' : String(value);
}
