/**
 * Detection rules and packs as data: the one schema built-in rule files, custom rules (API, later)
 * and packs are validated against. Pure module, no I/O.
 *
 * A rule is a literal prefilter plus an optional confirmation pattern: the engine finds every
 * literal with one automaton, and only around a literal hit runs the rule's pattern, then its
 * validators (Luhn, IBAN mod-97, entropy…). Rules without literals run their pattern over the
 * whole (normalised) text; `signal` rules fire on what normalisation and decoding noticed
 * (invisible characters, homoglyphs, attacks hidden in encodings) and need neither.
 */
import { z } from 'zod';

export const RULES_FORMAT_VERSION = 1;
export const CATEGORIES = [
  'sql_injection',
  'command_injection',
  'path_traversal',
  'ssrf',
  'xss',
  'template_injection',
  'prompt_injection',
  'jailbreak',
  'system_prompt_leak',
  'secret',
  'pii',
  'obfuscation',
  'exfiltration',
] as const;
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export const WHERES = ['args', 'result', 'prompt', 'completion'] as const;
export const ACTIONS = ['block', 'redact', 'alert', 'log'] as const;
/** What normalisation and decoding can report (see inspection.normalize.ts / inspection.decode.ts). */
export const SIGNALS = [
  'zero_width',
  'bidi',
  'tag_chars',
  'homoglyph_mix',
  'combining_marks',
  'base64_blob',
  'encoded_base64',
  'encoded_hex',
  'encoded_url',
  'encoded_html',
  'encoded_unicode',
  'scan_limit',
] as const;

export type Category = (typeof CATEGORIES)[number];
export type Severity = (typeof SEVERITIES)[number];
export type Where = (typeof WHERES)[number];
export type Action = (typeof ACTIONS)[number];
export type Signal = (typeof SIGNALS)[number];

export const MAX_LITERALS = 64;
export const MAX_LITERAL_LENGTH = 64;
export const MAX_PATTERN_LENGTH = 1024;
export const MAX_WINDOW = 4096;

export const validatorSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('luhn') }),
  z.strictObject({ type: z.literal('iban') }),
  /** Shannon entropy of the value in bits per character, and an optional minimum length. */
  z.strictObject({
    type: z.literal('entropy'),
    minBitsPerChar: z.number().min(0).max(8),
    minLength: z.number().int().min(1).max(4096).optional(),
  }),
  /** US SSN area/group/serial rules (no 000, 666, 9xx area; no 00 group; no 0000 serial). */
  z.strictObject({ type: z.literal('ssn') }),
  /** Four octets 0–255. */
  z.strictObject({ type: z.literal('ipv4') }),
  /** A JWT whose header decodes to JSON with an `alg`. */
  z.strictObject({ type: z.literal('jwt') }),
  /** Refuses obvious placeholders (`xxxx`, `changeme`, `<token>`, `${VAR}`, `example`…). */
  z.strictObject({ type: z.literal('not_placeholder') }),
  /** A real calendar date in the value (YYYY-MM-DD, DD/MM/YYYY, MM/DD/YYYY). */
  z.strictObject({ type: z.literal('date') }),
]);
export type Validator = z.infer<typeof validatorSchema>;

/**
 * One character is allowed (`@` gates the e-mail rule): a frequent literal only opens windows
 * that merge, so the cost stays linear; it is the pattern that must be selective.
 */
const literalSchema = z
  .string()
  .min(1, 'a literal needs at least 1 character')
  .max(MAX_LITERAL_LENGTH, `a literal has at most ${MAX_LITERAL_LENGTH} characters`);

/** A bracket class of printable ASCII (no nesting): read once into a table (inspection.glue.ts). */
export const GLUE_CLASS = /^\[\^?(?:[ -Z^-~]|\\[ -~])+\]$/;

export const detectionSchema = z
  .strictObject({
    /** Case-insensitive (ASCII) literals; any one of them gates the pattern. */
    literals: z.array(literalSchema).min(1).max(MAX_LITERALS).optional(),
    /** A JavaScript regular expression, checked by inspection.regex.ts before use. */
    pattern: z.string().min(1).max(MAX_PATTERN_LENGTH).optional(),
    /** Pattern is case-insensitive unless this is true (secrets with fixed prefixes, ids). */
    caseSensitive: z.boolean().optional(),
    /** Characters around a literal hit the pattern may look at (default 128 before and after). */
    window: z
      .strictObject({
        before: z.number().int().min(0).max(MAX_WINDOW),
        after: z.number().int().min(0).max(MAX_WINDOW),
      })
      .optional(),
    validators: z.array(validatorSchema).max(4).optional(),
    signal: z.enum(SIGNALS).optional(),
    /**
     * The characters a value of this rule can be glued to (a bracket class of ASCII, e.g.
     * `[A-Za-z0-9._%+@-]` for e-mail): a finding is widened to the whole run of them around its
     * match, so a value glued to another of its kind (or to what the rule's boundaries refused)
     * is masked whole (inspection.glue.ts, docs/detections.md#glued-values).
     */
    glue: z
      .string()
      .regex(GLUE_CLASS, 'glue is a bracket class of ASCII characters, e.g. "[A-Za-z0-9_-]"')
      .optional(),
  })
  .refine((d) => d.literals !== undefined || d.pattern !== undefined || d.signal !== undefined, {
    message: 'detection needs literals, a pattern or a signal',
  })
  .refine((d) => d.signal === undefined || (d.literals === undefined && d.pattern === undefined), {
    message: 'a signal rule has no literals or pattern',
  })
  .refine((d) => d.glue === undefined || d.pattern !== undefined, {
    message: 'glue widens the matches of a pattern',
  });
export type Detection = z.infer<typeof detectionSchema>;

export const ruleSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9_]+(?:\.[a-z0-9_]+){1,3}$/, 'id is dotted lowercase, e.g. "sql_injection.union_select"')
    .max(96),
  category: z.enum(CATEGORIES),
  severity: z.enum(SEVERITIES),
  where: z.array(z.enum(WHERES)).min(1).max(4),
  detection: detectionSchema,
  action: z.enum(ACTIONS),
  /** The placeholder type the redactor uses (`EMAIL` gives `[EMAIL_1]`); defaults from the category. */
  placeholder: z
    .string()
    .regex(/^[A-Z]{2,16}$/)
    .optional(),
  description: z.string().min(1).max(500),
  references: z.array(z.string().max(300)).max(10).default([]),
  examples: z.strictObject({
    positive: z.array(z.string().max(4096)).min(1).max(20),
    negative: z.array(z.string().max(4096)).min(1).max(20),
  }),
});
export type Rule = z.infer<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;

/** A built-in rules file: one category, versioned. */
export const ruleFileSchema = z.strictObject({
  version: z.literal(RULES_FORMAT_VERSION),
  category: z.enum(CATEGORIES),
  rules: z.array(ruleSchema).min(1),
});
export type RuleFile = z.infer<typeof ruleFileSchema>;

export const packSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9-]{2,64}$/),
    description: z.string().min(1).max(500),
    rules: z.array(z.string()).max(2000).default([]),
    categories: z.array(z.enum(CATEGORIES)).max(CATEGORIES.length).default([]),
    /** Only rules at or above this severity from `categories` (explicit `rules` are always in). */
    minSeverity: z.enum(SEVERITIES).optional(),
  })
  .refine((p) => p.rules.length > 0 || p.categories.length > 0, {
    message: 'a pack lists rule ids or categories',
  });
export type Pack = z.infer<typeof packSchema>;

export const packFileSchema = z.strictObject({
  version: z.literal(RULES_FORMAT_VERSION),
  packs: z.array(packSchema).min(1),
});

/** Per connection: a different action for a category or a rule, or `off` to disable it. */
export const overridesSchema = z.strictObject({
  categories: z.partialRecord(z.enum(CATEGORIES), z.enum([...ACTIONS, 'off'])).optional(),
  rules: z.record(z.string(), z.enum([...ACTIONS, 'off'])).optional(),
});
export type Overrides = z.infer<typeof overridesSchema>;

export const SEVERITY_RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 };

/** The placeholder type of a rule (`[EMAIL_1]`), from its own field or its category. */
export function placeholderType(rule: Pick<Rule, 'placeholder' | 'category'>): string {
  if (rule.placeholder) return rule.placeholder;
  return rule.category === 'secret' ? 'SECRET' : rule.category === 'pii' ? 'PII' : 'REDACTED';
}
