/**
 * The value operators beyond eq/neq/in/nin, written for `args.<path>` conditions (MCP tool
 * arguments, LLM request fields, A2A message metadata) and usable on `user` and `metadata.*`:
 *
 *   prefix / suffix (string)   glob (string, tool-glob syntax)   matches (string, linear pattern)
 *   lt / lte / gt / gte (number)   maxLength (string length ≤ n, or array size ≤ n)
 *   exists (true: present and not null; false: absent or null)
 *   hostIn (URL host in a list, `*.` wildcards)   pathWithin (normalised path inside a root)
 *
 * Each compiles once (policy compile time) to a predicate over the field's value (`undefined`
 * when the field is missing). Types are strict: `lt` never holds for the string "5", `prefix`
 * never for a number — a value of the wrong type fails the condition, i.e. the rule is skipped,
 * like a missing field. Only `exists: false` holds for a missing field.
 */
import { z } from 'zod';
import { compileGlob } from '../shared/policy.glob.js';
import {
  compileHostSet,
  compileRoots,
  hostIn,
  hostPatternError,
  pathWithin,
  rootError,
} from './policy.paths.js';
import { compilePattern, MAX_PATTERN_LENGTH } from './policy.pattern.js';

export const ARG_OPERATORS = [
  'prefix',
  'suffix',
  'glob',
  'matches',
  'lt',
  'lte',
  'gt',
  'gte',
  'maxLength',
  'exists',
  'hostIn',
  'pathWithin',
] as const;
export type ArgOperator = (typeof ARG_OPERATORS)[number];

/** Operators whose operand must be compared with a string value (schema-aware warnings). */
export const STRING_OPERATORS: ReadonlySet<string> = new Set([
  'prefix',
  'suffix',
  'glob',
  'matches',
  'hostIn',
  'pathWithin',
]);
export const NUMBER_OPERATORS: ReadonlySet<string> = new Set(['lt', 'lte', 'gt', 'gte']);

const MAX_OPERAND_LENGTH = 1024;
const MAX_LIST = 1000;

const text = (name: string) =>
  z
    .string({ error: `${name} must be a string` })
    .min(1, `${name} must not be empty`)
    .max(MAX_OPERAND_LENGTH, `${name} must be at most ${MAX_OPERAND_LENGTH} characters`);

const number = (name: string) => z.number({ error: `${name} must be a number` });

function listOf(name: string, check: (item: string) => string | null) {
  return z
    .array(z.string({ error: `${name} entries must be strings` }), {
      error: `${name} must be a list of strings`,
    })
    .min(1, `${name} must contain at least 1 entry`)
    .max(MAX_LIST, `${name} must contain at most ${MAX_LIST} entries`)
    .superRefine((items, ctx) => {
      items.forEach((item, index) => {
        const message = check(item);
        if (message !== null) ctx.addIssue({ code: 'custom', message, path: [index] });
      });
    });
}

/** The operand schema of each operator (merged into the condition object in policy.schema.ts). */
export const argOperandSchemas = {
  prefix: text('prefix').optional(),
  suffix: text('suffix').optional(),
  glob: text('glob').max(256, 'glob must be at most 256 characters').optional(),
  matches: z
    .string({ error: 'matches must be a string' })
    .max(MAX_PATTERN_LENGTH, `matches must be at most ${MAX_PATTERN_LENGTH} characters`)
    .superRefine((pattern, ctx) => {
      const compiled = compilePattern(pattern);
      if (!compiled.ok) ctx.addIssue({ code: 'custom', message: `matches: ${compiled.message}` });
    })
    .optional(),
  lt: number('lt').optional(),
  lte: number('lte').optional(),
  gt: number('gt').optional(),
  gte: number('gte').optional(),
  maxLength: z
    .number({ error: 'maxLength must be a number' })
    .int('maxLength must be an integer')
    .min(0, 'maxLength must be at least 0')
    .optional(),
  exists: z.boolean({ error: 'exists must be true or false' }).optional(),
  hostIn: listOf('hostIn', hostPatternError).optional(),
  pathWithin: listOf('pathWithin', rootError).optional(),
};

export type ArgCondition =
  | { prefix: string }
  | { suffix: string }
  | { glob: string }
  | { matches: string }
  | { lt: number }
  | { lte: number }
  | { gt: number }
  | { gte: number }
  | { maxLength: number }
  | { exists: boolean }
  | { hostIn: string[] }
  | { pathWithin: string[] };

/** A compiled argument operator: `undefined` is a missing field. */
export type ArgTest = (value: unknown) => boolean;

export function argOperatorOf(condition: ArgCondition): ArgOperator {
  return Object.keys(condition)[0] as ArgOperator;
}

export function compileArgTest(condition: ArgCondition): ArgTest {
  if ('prefix' in condition) {
    const prefix = condition.prefix;
    return (v) => typeof v === 'string' && v.startsWith(prefix);
  }
  if ('suffix' in condition) {
    const suffix = condition.suffix;
    return (v) => typeof v === 'string' && v.endsWith(suffix);
  }
  if ('glob' in condition) {
    const glob = compileGlob(condition.glob);
    return (v) => typeof v === 'string' && glob(v);
  }
  if ('matches' in condition) {
    const compiled = compilePattern(condition.matches);
    // The schema refused patterns that do not compile; a stored one that somehow does not never holds.
    const match = compiled.ok ? compiled.match : () => false;
    return (v) => typeof v === 'string' && match(v);
  }
  if ('lt' in condition) {
    const bound = condition.lt;
    return (v) => typeof v === 'number' && v < bound;
  }
  if ('lte' in condition) {
    const bound = condition.lte;
    return (v) => typeof v === 'number' && v <= bound;
  }
  if ('gt' in condition) {
    const bound = condition.gt;
    return (v) => typeof v === 'number' && v > bound;
  }
  if ('gte' in condition) {
    const bound = condition.gte;
    return (v) => typeof v === 'number' && v >= bound;
  }
  if ('maxLength' in condition) {
    const max = condition.maxLength;
    return (v) => (typeof v === 'string' || Array.isArray(v)) && v.length <= max;
  }
  if ('exists' in condition) {
    const wanted = condition.exists;
    return (v) => (v !== undefined && v !== null) === wanted;
  }
  if ('hostIn' in condition) {
    const hosts = compileHostSet(condition.hostIn);
    return (v) => hostIn(hosts, v);
  }
  const roots = compileRoots(condition.pathWithin);
  return (v) => pathWithin(roots, v);
}

/** The operand as written, for explanations. */
export function argOperand(condition: ArgCondition): unknown {
  return Object.values(condition)[0];
}
