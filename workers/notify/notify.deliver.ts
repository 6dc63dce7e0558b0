/**
 * Sending to a channel, and what the queue does with it (docs/observability.md#notification-channels).
 *
 *   routeEvent   an event → one `notify_deliveries` row per channel whose routing takes it, each
 *                handed to the queue as a `deliver` message
 *   deliverOnce  one attempt of one delivery: delivered, retried later (backoff), or dead-lettered
 *                after NOTIFY_MAX_ATTEMPTS (listed in the API, replayable)
 *   sendOnce     one HTTP request to a channel: no redirects followed, a 10 s timeout, the URL
 *                checked again against the SSRF rules (the rules may be stricter than at save time)
 *
 * Delivery is at least once: a receiver deduplicates with the `X-Igris-Delivery` header.
 */

import { randomId } from '../lib/ids';
import { log } from '../lib/log';
import { iso, parseStoredJson } from '../lib/values';
import type { NotifyEvent, NotifyMessage } from '../shared/notify.message';
import { notifyEventSchema, notifyMessageSchema } from '../shared/notify.message';
import { type Channel, channelOf, type DbChannel, type NotifyEnv, openSecret } from './notify.channels';
import {
  alertLink,
  backoffSeconds,
  buildRequest,
  type ChannelSecret,
  checkChannelUrl,
  routes,
  traceLink,
} from './notify.format';
import { deliveryInsert } from './notify.rate';

export type DeliverEnv = NotifyEnv &
  Pick<Env, 'NOTIFY_QUEUE' | 'NOTIFY_RETRY_BASE_SECONDS' | 'NOTIFY_MAX_ATTEMPTS' | 'PUBLIC_BASE_URL'>;

const SEND_TIMEOUT_MS = 10_000;

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : fallback;
}

export const maxAttempts = (env: Pick<Env, 'NOTIFY_MAX_ATTEMPTS'>) =>
  Math.max(1, positiveInt(env.NOTIFY_MAX_ATTEMPTS, 6));
const retryBase = (env: Pick<Env, 'NOTIFY_RETRY_BASE_SECONDS'>) =>
  positiveInt(env.NOTIFY_RETRY_BASE_SECONDS, 30);

/** One request to a channel. The error is a short code, never the receiver's text or the URL. */
export async function sendOnce(
  env: Pick<Env, 'ALLOW_PRIVATE_UPSTREAMS' | 'PUBLIC_BASE_URL'>,
  channel: Channel,
  secret: ChannelSecret,
  deliveryId: string,
  event: NotifyEvent,
): Promise<{ ok: true } | { ok: false; error: string }> {
  if (typeof checkChannelUrl(env, secret.url) === 'string') return { ok: false, error: 'url_refused' };
  const envelope = {
    deliveryId,
    orgId: channel.orgId,
    event,
    link: alertLink(env.PUBLIC_BASE_URL, event),
    traceLink: traceLink(env.PUBLIC_BASE_URL, event),
  };
  const request = await buildRequest(channel, secret, envelope, Math.floor(Date.now() / 1000));
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { ok: true };
    // A redirect is not followed: it could point the signed body at an internal address.
    return {
      ok: false,
      error: response.status >= 300 && response.status < 400 ? 'redirect' : `http_${response.status}`,
    };
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    return { ok: false, error: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network' };
  }
}

/** Deterministic per (event, channel), so a route message handled twice makes one row. */
async function deliveryIdFor(orgId: string, event: NotifyEvent, channelId: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    'SHA-256',
    new TextEncoder().encode(`${orgId}|${event.type}|${event.id}|${event.occurredAt}|${channelId}`),
  );
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `dlv_${hex.slice(0, 24)}`;
}

export async function routeEvent(env: DeliverEnv, orgId: string, event: NotifyEvent): Promise<number> {
  const { results } = await env.DB.prepare('SELECT * FROM notify_channels WHERE org_id = ? AND enabled = 1')
    .bind(orgId)
    .all<DbChannel>();
  const now = Date.now();
  const channels = results.map(channelOf).filter((c) => routes(c, event));
  if (channels.length === 0) return 0;
  const ids = await Promise.all(channels.map((c) => deliveryIdFor(orgId, event, c.id)));
  // Each row only if its channel's minute has room (notify.rate.ts); then the rows that exist —
  // written now, or by an earlier handling of this same route message — go to the queue.
  const inserts = channels.map((c, i) =>
    deliveryInsert(env.DB, { id: ids[i]!, orgId, channelId: c.id, event, now }),
  );
  const written = await env.DB.batch<{ id: string }>([
    ...inserts,
    // One JSON parameter, however many channels (D1 binds at most 100 values a statement).
    env.DB.prepare(
      'SELECT id FROM notify_deliveries WHERE org_id = ? AND id IN (SELECT value FROM json_each(?))',
    ).bind(orgId, JSON.stringify(ids)),
  ]);
  const kept = (written.at(-1)?.results ?? []).map((r) => r.id);
  if (kept.length < channels.length)
    log('warn', 'notifications over the channel rate not sent', {
      orgId,
      type: event.type,
      severity: event.severity,
      fingerprint: event.fingerprint?.slice(0, 100) ?? null,
      channels: channels.length - kept.length,
    });
  if (kept.length > 0) await enqueueDeliveries(env, orgId, kept);
  return kept.length;
}

export async function enqueueDeliveries(
  env: Pick<Env, 'NOTIFY_QUEUE'>,
  orgId: string,
  ids: string[],
): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    await env.NOTIFY_QUEUE.sendBatch(
      ids
        .slice(i, i + 100)
        .map((deliveryId) => ({ body: { kind: 'deliver', orgId, deliveryId } satisfies NotifyMessage })),
    );
  }
}

type DbDelivery = { id: string; status: string; attempts: number; payload: string } & {
  [K in keyof DbChannel as `channel_${K & string}`]: DbChannel[K];
};

/** One attempt. Returns the seconds after which the queue should try again, or null when settled. */
export async function deliverOnce(
  env: DeliverEnv,
  orgId: string,
  deliveryId: string,
): Promise<number | null> {
  const row = await env.DB.prepare(
    `SELECT d.id, d.status, d.attempts, d.payload, c.id AS channel_id, c.org_id AS channel_org_id, c.type AS channel_type,
       c.format AS channel_format, c.secret_ciphertext AS channel_secret_ciphertext, c.enabled AS channel_enabled,
       c.min_severity AS channel_min_severity, c.event_types AS channel_event_types
     FROM notify_deliveries d JOIN notify_channels c ON c.id = d.channel_id
     WHERE d.id = ? AND d.org_id = ?`,
  )
    .bind(deliveryId, orgId)
    .first<DbDelivery>();
  // Gone with its channel, or settled by another attempt: nothing to do.
  if (row?.status !== 'pending') return null;
  const event = notifyEventSchema.safeParse(parseStoredJson(row.payload));
  const channel = channelOf({
    id: row.channel_id,
    org_id: row.channel_org_id,
    type: row.channel_type,
    format: row.channel_format,
    secret_ciphertext: row.channel_secret_ciphertext,
    enabled: row.channel_enabled,
    min_severity: row.channel_min_severity,
    event_types: row.channel_event_types,
  } as DbChannel);
  const attempts = row.attempts + 1;
  let result: { ok: true } | { ok: false; error: string };
  if (!event.success) result = { ok: false, error: 'bad_payload' };
  else if (!channel.enabled) result = { ok: false, error: 'channel_disabled' };
  else {
    let secret: ChannelSecret | null = null;
    try {
      secret = await openSecret(env, channel);
    } catch (err) {
      log('error', 'notify channel secret cannot be opened', { channelId: channel.id, err });
    }
    result = secret
      ? await sendOnce(env, channel, secret, row.id, event.data)
      : { ok: false, error: 'vault' };
  }
  const final = result.ok || attempts >= maxAttempts(env) || !event.success || !channel.enabled;
  const status = result.ok ? 'delivered' : final ? 'dead' : 'pending';
  const now = Date.now();
  await env.DB.prepare(
    `UPDATE notify_deliveries SET status = ?, attempts = ?, last_error = ?, updated_at = ?, delivered_at = ?
     WHERE id = ? AND org_id = ? AND status = 'pending'`,
  )
    .bind(status, attempts, result.ok ? null : result.error, now, result.ok ? now : null, row.id, orgId)
    .run();
  if (status === 'dead') {
    log('warn', 'notification dead-lettered', { deliveryId: row.id, channelId: channel.id, attempts });
  }
  return status === 'pending' ? backoffSeconds(attempts, retryBase(env)) : null;
}

/**
 * The queue consumer (workers/index.ts `queue`). A message that cannot be parsed is dropped (it
 * could never succeed); one whose handling throws (D1 unavailable) is retried after the base delay.
 */
export async function handleNotifyBatch(
  batch: Pick<MessageBatch<unknown>, 'messages'>,
  env: DeliverEnv,
): Promise<void> {
  for (const message of batch.messages) {
    const parsed = notifyMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      log('warn', 'notify queue message dropped: unreadable', { id: message.id });
      message.ack();
      continue;
    }
    try {
      const body = parsed.data;
      let retryIn: number | null = null;
      if (body.kind === 'route') await routeEvent(env, body.orgId, body.event);
      else retryIn = await deliverOnce(env, body.orgId, body.deliveryId);
      if (retryIn === null) message.ack();
      else message.retry({ delaySeconds: retryIn });
    } catch (err) {
      log('error', 'notify queue message failed', { id: message.id, err });
      message.retry({ delaySeconds: backoffSeconds(message.attempts, retryBase(env)) });
    }
  }
}

/** A test event for the "send test" button. */
export function testEvent(): NotifyEvent {
  return {
    id: randomId('tst'),
    type: 'test',
    severity: 'info',
    title: 'Igris Edge test notification',
    alertId: null,
    connectionId: null,
    fingerprint: null,
    details: { test: true },
    occurredAt: iso(Date.now())!,
  };
}
