/** Request and response shapes of `/api/v1/alerts/channels` and `/api/v1/alerts/deliveries`. */
import { z } from '@hono/zod-openapi';
import { pathParamSchema } from '../api/api.openapi';
import { ALERT_SEVERITIES, DELIVERY_STATUSES, NOTIFY_CHANNEL_TYPES, SIEM_FORMATS } from '../db/schema';

/** Event types a channel can be limited to: the alert types, budget crossings, approval requests. */
export const NOTIFY_EVENT_TYPES = [
  'kill_switch',
  'detection',
  'drift',
  'anomaly',
  'deny_spike',
  'budget',
  'policy',
  'approval',
  'approval_requested',
  'approval_decided',
] as const;

const name = z.string().trim().min(1).max(100);
const url = z.string().min(1).max(2000);
/** A webhook signing secret: long enough that guessing it is not an option. */
const secret = z.string().min(16).max(200);
const token = z.string().min(1).max(500);
const routing = {
  minSeverity: z.enum(ALERT_SEVERITIES).default('info'),
  eventTypes: z.array(z.enum(NOTIFY_EVENT_TYPES)).min(1).max(20).nullable().default(null),
  enabled: z.boolean().default(true),
};

export const channelCreateSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('webhook'), name, url, secret, ...routing }),
    z.strictObject({ type: z.literal('slack'), name, url, ...routing }),
    z.strictObject({
      type: z.literal('siem'),
      name,
      url,
      format: z.enum(SIEM_FORMATS),
      token: token.optional(),
      ...routing,
    }),
  ])
  .openapi('NotifyChannelCreate', {
    description:
      'webhook: JSON signed with `secret` (HMAC-SHA256); slack: an incoming-webhook URL (kept secret); siem: a collector URL, a format and an optional token',
  });

export const channelPatchSchema = z
  .strictObject({
    name: name.optional(),
    url: url.optional(),
    secret: secret.optional(),
    token: token.nullable().optional(),
    format: z.enum(SIEM_FORMATS).optional(),
    minSeverity: z.enum(ALERT_SEVERITIES).optional(),
    eventTypes: z.array(z.enum(NOTIFY_EVENT_TYPES)).min(1).max(20).nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .openapi('NotifyChannelPatch');

export const channelSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.enum(NOTIFY_CHANNEL_TYPES),
    format: z.enum(SIEM_FORMATS).nullable(),
    url: z.string().openapi({ description: 'For Slack only the origin: the webhook path is a secret' }),
    hasSecret: z.boolean().openapi({ description: 'A signing secret or token is stored (never returned)' }),
    minSeverity: z.enum(ALERT_SEVERITIES),
    eventTypes: z.array(z.string()).nullable(),
    enabled: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('NotifyChannel');

export const deliverySchema = z
  .object({
    id: z.string(),
    channelId: z.string(),
    eventType: z.string(),
    alertId: z.string().nullable(),
    title: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi('NotifyDelivery');

export const deliveryListQuerySchema = z.object({
  status: z.enum(DELIVERY_STATUSES).optional(),
  channelId: z.string().max(64).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const testResultSchema = z
  .object({
    ok: z.boolean(),
    error: z
      .string()
      .nullable()
      .openapi({ description: 'http_<status>, timeout, network, redirect, url_refused' }),
  })
  .openapi('NotifyTestResult');

export const channelIdParamSchema = pathParamSchema('id', 'nch_0123456789abcdefghij');
export const deliveryIdParamSchema = pathParamSchema('id', 'dlv_0123456789abcdefghijklmn');

export type ChannelCreate = z.infer<typeof channelCreateSchema>;
export type ChannelPatch = z.infer<typeof channelPatchSchema>;
export type ChannelDto = z.infer<typeof channelSchema>;
export type DeliveryDto = z.infer<typeof deliverySchema>;
export type DeliveryListQuery = z.infer<typeof deliveryListQuerySchema>;
