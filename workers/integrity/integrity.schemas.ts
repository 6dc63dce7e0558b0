/** Shapes of the tool-integrity API (`/api/v1/connections/{slug}/tools…`). */
import { z } from '@hono/zod-openapi';
import { DRIFT_SEVERITIES, INTEGRITY_KINDS } from '../db/schema';

const kind = z.enum(INTEGRITY_KINDS).openapi({ description: 'tool, prompt or resource' });
const name = z
  .string()
  .min(1)
  .max(2048)
  .openapi({ description: 'The tool or prompt name, or the resource URI' });
const fingerprint = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'a fingerprint is 64 lower-case hex characters (SHA-256)')
  .openapi({ description: 'SHA-256 of the canonical definition' });

const finding = z.object({
  kind: z.string(),
  severity: z.enum(DRIFT_SEVERITIES),
  path: z.string(),
  match: z.string(),
});

export const toolItemSchema = z
  .object({
    kind,
    name,
    /** The name policies and calls use: `tool`, `prompt:<name>`, `resource:<uri>`. */
    governedName: z.string(),
    fingerprint: fingerprint.nullable(),
    version: z.number().int(),
    removed: z.boolean(),
    quarantined: z.boolean(),
    quarantineReason: z.string().nullable(),
    approvedFingerprint: fingerprint.nullable(),
    /** True when the current definition is the approved one (what fail_closed lets through). */
    approved: z.boolean(),
    approvedBy: z.string().nullable(),
    approvedAt: z.string().nullable(),
    findings: z.array(finding),
    definition: z.record(z.string(), z.unknown()).nullable(),
    firstSeen: z.string(),
    lastSeen: z.string(),
  })
  .openapi('ToolItem');

export const toolListSchema = z.object({
  connection: z.string(),
  discovery: z.enum(['off', 'alert', 'fail_closed']),
  quarantineOnCritical: z.boolean(),
  blockOnCriticalScan: z.boolean(),
  /** The latest scan's unsuppressed critical findings (null: none); they block calls with blockOnCriticalScan. */
  scanBlock: z.object({ scanId: z.string(), critical: z.number().int() }).nullable(),
  items: z.array(toolItemSchema),
});

export const toolVersionSchema = z
  .object({
    kind,
    name,
    version: z.number().int(),
    fingerprint: fingerprint.nullable(),
    severity: z.enum(DRIFT_SEVERITIES),
    changes: z.array(z.record(z.string(), z.unknown())),
    findings: z.array(finding),
    definition: z.record(z.string(), z.unknown()).nullable(),
    seenAt: z.string(),
  })
  .openapi('ToolVersion');

export const historyQuerySchema = z.object({
  kind: kind.optional(),
  name: name.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const approveSchema = z
  .object({
    /** Approve exactly these fingerprints (refused with 409 if an item changed since). */
    items: z.array(z.object({ kind, name, fingerprint }).strict()).min(1).max(500).optional(),
    /** Approve every item currently listed, at its current fingerprint. */
    all: z.literal(true).optional(),
  })
  .strict()
  .refine((v) => (v.items === undefined) !== (v.all === undefined), {
    message: 'give either items or all: true',
    path: ['items'],
  });

export const quarantineSchema = z
  .object({ kind, name, reason: z.string().min(1).max(200).optional() })
  .strict();

export type ApproveInput = z.infer<typeof approveSchema>;
export type QuarantineInput = z.infer<typeof quarantineSchema>;
export type ToolItemDto = z.infer<typeof toolItemSchema>;
