/**
 * Checks a rule before it is saved (custom rules through the API) or loaded: schema, a pattern
 * that cannot backtrack catastrophically nor match the empty string, and its own examples —
 * every positive example must be found by the rule, no negative one may be.
 * Every error says where (`path`, a field path in the rule) and why (`code`, `message`).
 */
import { quotedPath, unknownKeysMessage } from '../lib/issues.list.js';
import { RuleCompileError } from './inspection.compile.js';
import { compileRules, type Engine } from './inspection.engine.js';
import { checkPattern, type PatternErrorCode } from './inspection.regex.js';
import { type Rule, ruleSchema } from './inspection.schema.js';

export type RuleErrorCode = 'schema' | PatternErrorCode | 'example_not_detected' | 'example_detected';

export interface RuleValidationError {
  code: RuleErrorCode;
  /** Field path in the rule, e.g. `detection.pattern` or `examples.positive[2]`. */
  path: string;
  message: string;
}

export type RuleValidation = { ok: true; rule: Rule } | { ok: false; errors: RuleValidationError[] };

/** Which examples of a (valid) rule the rule itself gets wrong. */
export function checkExamples(rule: Rule): RuleValidationError[] {
  return examplesAgainst(compileRules([rule], 'all'), rule);
}

/**
 * Every rule's examples against one engine of all of them: what the built-in rules test runs.
 * Signal rules such as `obfuscation.base64_hidden_attack` only fire when another rule finds
 * something inside the decoded span, so they need the others beside them.
 */
export function checkRuleSetExamples(
  rules: readonly Rule[],
): Array<RuleValidationError & { ruleId: string }> {
  const engine = compileRules(rules, 'all');
  return rules.flatMap((rule) => examplesAgainst(engine, rule).map((e) => ({ ...e, ruleId: rule.id })));
}

function examplesAgainst(engine: Engine, rule: Rule): RuleValidationError[] {
  const errors: RuleValidationError[] = [];
  const hits = (text: string) =>
    rule.where.some((w) => engine.scan(text, w).some((f) => f.ruleId === rule.id));
  rule.examples.positive.forEach((text, i) => {
    if (!hits(text))
      errors.push({
        code: 'example_not_detected',
        path: `examples.positive[${i}]`,
        message: 'the rule does not detect this positive example',
      });
  });
  rule.examples.negative.forEach((text, i) => {
    if (hits(text))
      errors.push({
        code: 'example_detected',
        path: `examples.negative[${i}]`,
        message: 'the rule detects this negative example',
      });
  });
  return errors;
}

export function validateCustomRule(input: unknown): RuleValidation {
  const parsed = ruleSchema.safeParse(input);
  if (!parsed.success)
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => ({
        code: 'schema' as const,
        path: quotedPath(issue.path),
        // zod names every unknown key in its message: bounded (lib/issues.list.ts).
        message: issue.code === 'unrecognized_keys' ? unknownKeysMessage(issue.keys) : issue.message,
      })),
    };
  const rule = parsed.data;
  if (rule.detection.pattern !== undefined) {
    const checked = checkPattern(rule.detection.pattern, !rule.detection.caseSensitive);
    if (!checked.ok)
      return {
        ok: false,
        errors: checked.errors.map((e) => ({
          code: e.code,
          path: 'detection.pattern',
          message: `${e.message} (at character ${e.at})`,
        })),
      };
  }
  try {
    const errors = checkExamples(rule);
    return errors.length ? { ok: false, errors } : { ok: true, rule };
  } catch (err) {
    if (err instanceof RuleCompileError)
      return {
        ok: false,
        errors: err.errors.map((e) => ({ code: e.code, path: 'detection.pattern', message: e.message })),
      };
    throw err;
  }
}
