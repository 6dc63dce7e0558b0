/**
 * Shared by the policy evaluation unit tests (policy.evaluate.conditions, .explain and .properties):
 * compiling a rule list the way the product does (parse, then compile).
 */
import { type CompiledPolicy, compilePolicy } from './policy.evaluate';
import { parsePolicy } from './policy.schema';

export function compile(rules: unknown[], version = 1): CompiledPolicy {
  const parsed = parsePolicy({ rules });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return compilePolicy(parsed.policy, version);
}
