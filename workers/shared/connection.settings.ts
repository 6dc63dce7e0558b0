import { z } from 'zod';
import { overridesSchema } from '../inspection/inspection.schema';
import { LABEL_MESSAGE, LABEL_PATTERN } from '../policy/policy.session';
import { gatewayOAuthSettingsSchema, upstreamOAuthSettingsSchema } from './oauth.settings';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/**
 * Hard ceiling of maxBodyBytes, refused on save above it: a body is buffered and parsed in an
 * isolate that has 128 MB for all its concurrent requests.
 */
export const MAX_BODY_BYTES_LIMIT = 10 * 1024 * 1024;
export const DEFAULT_MAX_BATCH_MESSAGES = 100;
/** How long an approval of a held call stays valid unless the connection says otherwise. */
export const DEFAULT_APPROVAL_EXPIRY_SECONDS = 900;
/**
 * Pending approvals (docs/policies.md#how-many-approvals-may-wait): each held call is one D1 row an
 * approver must read, so a caller may keep at most this many waiting on one connection (settable
 * per connection, up to the organization's cap), and an organization at most
 * APPROVALS_PENDING_PER_ORG in all. No person decides a hundred calls of one agent in the 15 minutes
 * they live; a thousand rows of at most 16 KiB of arguments bound an organization's pending storage.
 */
export const DEFAULT_APPROVALS_PENDING_PER_CALLER = 100;
export const APPROVALS_PENDING_PER_ORG = 1000;
/** Hard ceiling of maxBatchMessages: every message of a batch is decided and gets an audit row. */
export const MAX_BATCH_MESSAGES_LIMIT = 1000;

/** Content inspection settings of a connection (see `inspection` below). */
export const inspectionSettingsSchema = z
  .object({
    packs: z
      .array(z.string().regex(/^[a-z0-9-]{2,64}$/, 'a pack name is lowercase letters, digits and dashes'))
      .max(20, 'at most 20 packs')
      .default([]),
    overrides: overridesSchema.optional(),
    /**
     * Mask secrets and PII (`redact` findings) in what comes back before the caller sees it: MCP
     * tool results, A2A answers, LLM answers read whole (not streams: docs/detections.md).
     */
    redactResults: z.boolean().default(true),
    /**
     * Streamed LLM answers: `pass` scans each text as it passes (a `block` ends the stream, after
     * up to 16 KB of a text may have reached the caller; `redact` findings are recorded only);
     * `hold` reads the whole stream (up to the answer cap) before sending any of it, so a `block`
     * refuses it as a JSON error and `redact` findings are masked (docs/detections.md).
     */
    streamMode: z.enum(['pass', 'hold'], { message: 'streamMode must be "pass" or "hold"' }).default('pass'),
  })
  .strict();
export type InspectionSettings = z.output<typeof inspectionSettingsSchema>;

/** Most globs `toolLabels` may list, and labels per glob. */
export const MAX_TOOL_LABEL_GLOBS = 100;
export const MAX_TOOL_LABELS = 20;

/**
 * Session-taint labels of this connection's tools (docs/policies.md#tool-labels): tool glob (the
 * model, on an LLM connection) → labels an admitted call to it adds to its session. A tool any
 * glob matches gets the union of their labels and NOT the defaults its pinned annotations give
 * (`[]` therefore clears them); a tool no glob matches gets the defaults (workers/policy/policy.labels.ts).
 */
export const toolLabelsSchema = z
  .record(
    z.string().min(1, 'a tool glob must not be empty').max(256, 'a tool glob is at most 256 characters'),
    z
      .array(z.string().regex(LABEL_PATTERN, LABEL_MESSAGE))
      .max(MAX_TOOL_LABELS, `at most ${MAX_TOOL_LABELS} labels per glob`),
  )
  .refine(
    (globs) => Object.keys(globs).length <= MAX_TOOL_LABEL_GLOBS,
    `toolLabels holds at most ${MAX_TOOL_LABEL_GLOBS} globs`,
  );

/**
 * Per-connection settings (stored as JSON in connections.settings). Every field has a safe default,
 * so an empty object is a valid, secure configuration.
 */
export const connectionSettingsSchema = z
  .object({
    /** Largest request body the gateway accepts for this connection (413 above it). */
    maxBodyBytes: z
      .number()
      .int()
      .min(1024, 'maxBodyBytes must be at least 1024')
      .max(MAX_BODY_BYTES_LIMIT, `maxBodyBytes must be at most ${MAX_BODY_BYTES_LIMIT} (10 MiB)`)
      .default(DEFAULT_MAX_BODY_BYTES),
    /**
     * Most messages one JSON-RPC batch may carry; a larger batch is refused whole (400, -32600)
     * with one audit row, before any message in it is decided (each would be an audit row).
     */
    maxBatchMessages: z
      .number()
      .int()
      .min(1, 'maxBatchMessages must be at least 1')
      .max(MAX_BATCH_MESSAGES_LIMIT, `maxBatchMessages must be at most ${MAX_BATCH_MESSAGES_LIMIT}`)
      .default(DEFAULT_MAX_BATCH_MESSAGES),
    /**
     * What happens when a Durable Object the decision depends on (kill switch, rate windows, audit
     * spool) cannot be reached: 'closed' refuses the call with 503; 'open' forwards it and writes the
     * audit row straight to D1. Default closed — a security check that cannot run must not pass.
     */
    failMode: z.enum(['closed', 'open']).default('closed'),
    /** Session-taint labels per tool glob, overriding the pinned annotations' defaults (see toolLabelsSchema). */
    toolLabels: toolLabelsSchema.optional(),
    /** Extra browser origins allowed to call this connection (DNS-rebinding protection). */
    allowedOrigins: z.array(z.string().url().max(200)).max(50).default([]),
    /**
     * Members (user ids) who may use this connection through the gateway besides its creator
     * (`connections:use`, workers/auth/permissions.ts). Matters for developers only: owners and
     * admins use every connection, auditors none. Checked against the organization's members when
     * saved.
     */
    sharedWith: z.array(z.string().min(1).max(64)).max(200).default([]),
    /**
     * A2A connections (docs/a2a.md#access-by-team): team ids whose calls may invoke the agent; a
     * call of no listed team is refused (`connection_forbidden`, a JSON-RPC error). Empty or absent:
     * every caller who may use the connection. Checked against the organization's teams when saved.
     */
    allowedTeams: z.array(z.string().min(1).max(64)).max(100).optional(),
    /**
     * A2A connections: record the text and data of the messages of tracked tasks (docs/a2a.md#tasks).
     * Off by default: only the messages' metadata (ids, roles, part kinds and sizes) is kept.
     * LLM connections: send prompts and completions to the organization's Langfuse project
     * (docs/observability.md#langfuse); off, Langfuse gets figures and identifiers only.
     */
    logContent: z.boolean().optional(),
    /**
     * LLM connections (`type: "llm"`): the provider of the built-in catalog
     * (workers/llm/llm.providers.json), which gives the base URL, the credential's style and the API
     * family. Required for llm connections, refused for mcp ones (connections.service.ts).
     */
    provider: z.string().min(1).max(64).optional(),
    /**
     * LLM connections: model globs this connection may call (e.g. `gpt-4o*`); a request for another
     * model is refused before anything is forwarded. Absent or empty = any model the policy allows.
     */
    allowedModels: z
      .array(
        z
          .string()
          .min(1, 'a model glob must not be empty')
          .max(200, 'a model glob is at most 200 characters')
          // Model names have no whitespace or control characters; a glob with them is a typo.
          .regex(/^[\x21-\x7e]+$/, 'a model glob is printable ASCII without spaces'),
      )
      .max(100, 'allowedModels holds at most 100 globs')
      .optional(),
    /**
     * LLM connections: let every caller of the connection share the provider's stored objects the
     * gateway cannot tell the owner of — Assistants, threads, containers, evals, videos
     * (docs/llm-gateway.md#stored-objects). Off (absent): a call naming one is refused
     * (`shared_object_refused`); the objects the gateway records a creator for stay each caller's
     * either way.
     */
    sharedProviderObjects: z.boolean().optional(),
    /** Time allowed for the upstream to start answering. */
    upstreamTimeoutMs: z.number().int().min(1000).max(300_000).default(60_000),
    /**
     * LLM connections (docs/llm-gateway.md#stream-timeouts): the longest the gateway waits for the
     * upstream's next event of a streamed answer (or chunk of a JSON answer's body). Past it a relayed
     * stream ends with the provider's error event, a held one or a JSON answer is refused (504
     * `upstream_timeout`). Default 5 minutes: a reasoning model may think for minutes between two
     * events. Not applied to MCP or A2A streams (idle for long by design).
     */
    streamIdleTimeoutMs: z.number().int().min(1000).max(3_600_000).default(300_000),
    /**
     * LLM connections with `inspection.streamMode: "hold"`: the longest a held stream may take to
     * be read whole (the caller gets nothing meanwhile); past it the answer is refused (504
     * `upstream_timeout`). Default 9.5 minutes: the caller gets no headers while a stream is held,
     * and the official SDKs give up on a request without headers after 10 minutes (their default
     * timeout) and retry it; the gateway's bound answers first, once, with a 504 not to retry.
     */
    heldStreamTimeoutMs: z.number().int().min(1000).max(3_600_000).default(570_000),
    /**
     * Anomaly detection (reported, never enforced; see durable-objects/anomaly.detect.ts):
     * rate_spike fires when the last minute's calls exceed the 10-minute average × rateSpikeMultiplier
     * (default 3); destructive_pattern when a called tool matches one of destructivePatterns (globs;
     * default delete_*, drop_*, truncate_*, destroy_*, purge_*; [] turns it off).
     */
    anomaly: z
      .object({
        rateSpikeMultiplier: z.number().min(1).max(1000).optional(),
        destructivePatterns: z.array(z.string().min(1).max(256)).max(100).optional(),
      })
      .strict()
      .optional(),
    /**
     * Tool integrity (docs/tool-integrity.md): what the gateway does with the tools, prompts and
     * resources the upstream lists. `discovery`: 'alert' (default) fingerprints every list answer,
     * records drift and alerts; 'fail_closed' also hides — and refuses calls to — every item whose
     * current fingerprint an owner/admin has not approved (new tools disabled until enabled);
     * 'off' does nothing. `quarantineOnCritical`: a critical change quarantines the item (hidden
     * and refused in every mode but 'off') until it is re-approved. `blockOnCriticalScan`: while
     * the latest scan (docs/tool-integrity.md#mcp-scanner) has an unsuppressed critical finding,
     * every governed call is refused (`connection_blocked`), whatever `discovery` says.
     */
    integrity: z
      .object({
        discovery: z.enum(['off', 'alert', 'fail_closed']).default('alert'),
        quarantineOnCritical: z.boolean().default(false),
        /** The connection's latest scan has an unsuppressed critical finding: refuse every call. */
        blockOnCriticalScan: z.boolean().default(false),
      })
      .strict()
      .default({ discovery: 'alert', quarantineOnCritical: false, blockOnCriticalScan: false }),
    /**
     * Content inspection (docs/detections.md): the detection packs applied to this connection's
     * calls (built-in names such as `mcp-advanced-security`, or the organization's custom packs;
     * checked when saved), per-category / per-rule action overrides (`off` disables), and whether
     * secrets and PII found in MCP results are masked before the agent sees them. No packs: no
     * inspection (the default, so existing connections behave as before).
     */
    inspection: inspectionSettingsSchema.optional(),
    /** OAuth gateway mode for this connection (workers/shared/oauth.settings.ts, docs/oauth.md). */
    oauth: gatewayOAuthSettingsSchema.optional(),
    /** OAuth upstream mode: each member's own token to the upstream (docs/oauth.md#upstream-mode). */
    upstreamOAuth: upstreamOAuthSettingsSchema.optional(),
    /**
     * Approvals (`action: "approve"` rules, docs/policies.md#approvals): how long a held call's
     * approval stays valid (default 900 s = 15 minutes, from the request), and the least role that
     * may approve or deny it (default admin: owners and admins), and how many unexpired approvals
     * one caller may keep pending on this connection (default 100; the organization's cap, 1,000,
     * applies besides).
     */
    approvals: z
      .object({
        expirySeconds: z.number().int().min(1).max(86_400).default(DEFAULT_APPROVAL_EXPIRY_SECONDS),
        approverRole: z.enum(['owner', 'admin', 'developer']).default('admin'),
        maxPendingPerCaller: z
          .number()
          .int()
          .min(1)
          .max(APPROVALS_PENDING_PER_ORG)
          .default(DEFAULT_APPROVALS_PENDING_PER_CALLER),
      })
      .strict()
      .optional(),
  })
  .strict();

type ShapeWithoutDefaults<S extends z.ZodRawShape> = {
  [K in keyof S]: z.ZodOptional<S[K] extends z.ZodDefault<infer Inner> ? Inner : S[K]>;
};

/** Every key of `shape` optional, and a key's top-level `.default()` dropped (nested ones are kept). */
function withoutDefaults<S extends z.ZodRawShape>(shape: S): ShapeWithoutDefaults<S> {
  const keys = Object.keys(shape) as Array<keyof S>;
  const entries = keys.map((key) => {
    const field = shape[key];
    const bare = field instanceof z.ZodDefault ? field.removeDefault() : field;
    return [key, (bare as z.ZodType).optional()];
  });
  return Object.fromEntries(entries) as ShapeWithoutDefaults<S>;
}

/**
 * The `settings` of a create or a PATCH: the keys a request names, each validated as above, and
 * nothing else. Not `connectionSettingsSchema.partial()`: zod 4 keeps a key's default under
 * `.partial()`, so a PATCH naming one key came out holding every defaulted key too, and replaced
 * the stored ones with their defaults — saving tool labels turned `integrity.discovery:
 * "fail_closed"` back to "alert", emptied `sharedWith`, reset the stream bounds; and a create with
 * any settings ignored the organization's `defaultFailMode`. A key sent replaces the stored one
 * whole (a nested object gets its own defaults, as before); a key not sent is kept.
 */
export const connectionSettingsInputSchema = z
  .object(withoutDefaults(connectionSettingsSchema.shape))
  .strict();

export type ConnectionSettings = z.output<typeof connectionSettingsSchema>;
export type ConnectionSettingsInput = z.input<typeof connectionSettingsSchema>;

/** Settings read back from the database: unknown or invalid stored values fall back to defaults. */
export function readConnectionSettings(stored: unknown): ConnectionSettings {
  const parsed = connectionSettingsSchema.safeParse(stored ?? {});
  return parsed.success ? parsed.data : connectionSettingsSchema.parse({});
}
