/** Request and response shapes of `/api/v1/tracing` (docs/observability.md#tracing). */
import { z } from '@hono/zod-openapi';
import { OTLP_PROTOCOLS } from '../db/schema';

/** An HTTP field name (RFC 9110 token); the ones the exporter sets itself, or that describe the hop, are refused. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'host',
  'connection',
  'transfer-encoding',
  'te',
  'upgrade',
]);
const headerName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'Not an HTTP header name')
  .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'This header is set by the exporter');
const headerValue = z
  .string()
  .max(4096)
  .regex(/^[^\r\n\0]*$/, 'A header value cannot hold a line break');

export const tracingPutSchema = z
  .strictObject({
    endpoint: z.string().min(1).max(2000).openapi({
      description: 'The OTLP/HTTP traces URL (https, public host), e.g. https://otel.example.com/v1/traces',
    }),
    sampleRate: z.number().min(0).max(1).default(1).openapi({
      description: 'Fraction of traces recorded (0..1), decided on the trace id',
    }),
    headers: z
      .record(headerName, headerValue)
      .refine((h) => Object.keys(h).length <= 20, 'At most 20 headers')
      .optional()
      .openapi({
        description:
          'Sent with every export (e.g. an API key). Stored encrypted, never returned. Omit to keep the stored ones; {} to remove them',
      }),
    protocol: z.enum(OTLP_PROTOCOLS).default('http/json').openapi({
      description:
        'The OTLP/HTTP encoding: http/json (JSON, the default) or http/protobuf (binary protobuf, application/x-protobuf)',
    }),
    enabled: z.boolean().default(true),
  })
  .openapi('TracingSettingsPut');
export type TracingPut = z.infer<typeof tracingPutSchema>;

export const tracingSettingsSchema = z
  .object({
    enabled: z.boolean(),
    endpoint: z.string(),
    sampleRate: z.number(),
    protocol: z.enum(OTLP_PROTOCOLS),
    headerNames: z
      .array(z.string())
      .openapi({ description: 'The stored headers’ names (values are never returned)' }),
    updatedAt: z.string(),
  })
  .openapi('TracingSettings');
export type TracingSettingsDto = z.infer<typeof tracingSettingsSchema>;
