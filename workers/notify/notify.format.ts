/**
 * What a notification channel receives (docs/observability.md#notification-channels): the request
 * body and headers per channel type, the webhook signature, routing and retry backoff. Pure apart
 * from WebCrypto's HMAC (no I/O), so every shape is tested in plain Node.
 *
 *   webhook  JSON `{version, deliveryId, organizationId, event, link}`, signed:
 *            X-Igris-Signature: v1=<hex HMAC-SHA256(secret, "<X-Igris-Timestamp>.<body>")>
 *   slack    an incoming-webhook message: `text` fallback and readable blocks with a dashboard link
 *   siem     ndjson (one JSON line), cef (one CEF:0 line), splunk_hec (HEC event JSON,
 *            `Authorization: Splunk <token>`), elastic_bulk (`create` + an ECS document)
 */
import { checkOutboundUrl } from '../connections/connection.rules';
import type { NOTIFY_SEVERITIES, NotifyEvent } from '../shared/notify.message';

export type ChannelType = 'webhook' | 'slack' | 'siem';
export type SiemFormat = 'ndjson' | 'cef' | 'splunk_hec' | 'elastic_bulk';
export type Severity = (typeof NOTIFY_SEVERITIES)[number];

/** What is decrypted from the vault for one send: never logged, never returned. */
export interface ChannelSecret {
  url: string;
  secret?: string;
  token?: string;
}

export interface ChannelTarget {
  type: ChannelType;
  format: SiemFormat | null;
}

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface Envelope {
  deliveryId: string;
  orgId: string;
  event: NotifyEvent;
  /** A link back to the dashboard's alert inbox, when the public base URL is known. */
  link: string | null;
  /** The dashboard's view of the trace the alert came from (Slack shows it), when known. */
  traceLink?: string | null;
}

export const SIGNATURE_HEADER = 'X-Igris-Signature';
export const TIMESTAMP_HEADER = 'X-Igris-Timestamp';
export const DELIVERY_HEADER = 'X-Igris-Delivery';

const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
/** CEF severity 0–10 and ECS `event.severity` for each of ours. */
const CEF_SEVERITY: Record<Severity, number> = { info: 1, low: 3, medium: 5, high: 8, critical: 10 };

/** Whether a channel's routing takes an event (test events are sent to one channel directly). */
export function routes(
  channel: { minSeverity: Severity; eventTypes: readonly string[] | null },
  event: Pick<NotifyEvent, 'type' | 'severity'>,
): boolean {
  if (RANK[event.severity] < RANK[channel.minSeverity]) return false;
  return channel.eventTypes === null || channel.eventTypes.includes(event.type);
}

/** Seconds to wait before attempt `attempt + 1`: base × 2^(attempt-1), capped at an hour. */
export function backoffSeconds(attempt: number, baseSeconds: number): number {
  return Math.min(3600, Math.round(baseSeconds * 2 ** Math.max(0, attempt - 1)));
}

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` — the timestamp in the MAC stops replays. */
export async function signature(secret: string, timestamp: number, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    'raw',
    enc.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return `v1=${hex(await crypto.subtle.sign('HMAC', key, enc.encode(`${timestamp}.${body}`)))}`;
}

/** Slack mrkdwn treats these three as control characters. */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function slackBody({ event, link, traceLink }: Envelope): string {
  const fields = [
    `*Severity*\n${event.severity}`,
    `*Type*\n${slackEscape(event.type)}`,
    ...(event.connectionId ? [`*Connection*\n${slackEscape(event.connectionId)}`] : []),
    `*When*\n${slackEscape(event.occurredAt)}`,
  ];
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: event.title.slice(0, 150) } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  const links = [
    ...(link ? [`<${link}|Open in Igris Edge>`] : []),
    ...(traceLink ? [`<${traceLink}|Open the trace>`] : []),
  ];
  if (links.length > 0)
    blocks.push({ type: 'context', elements: links.map((text) => ({ type: 'mrkdwn', text })) });
  return JSON.stringify({ text: `[${event.severity.toUpperCase()}] ${event.title}`, blocks });
}

/** CEF header fields escape `\` and `|`; extension values escape `\`, `=` and line breaks. */
const cefHeader = (text: string) =>
  text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
const cefValue = (text: string) =>
  text
    .replace(/\\/g, '\\\\')
    .replace(/=/g, '\\=')
    .replace(/\r?\n|\r/g, '\\n');

function cefLine({ event, orgId, deliveryId }: Envelope): string {
  const extension = [
    ['rt', String(Date.parse(event.occurredAt) || Date.now())],
    ['externalId', event.id],
    ['cs1Label', 'organizationId'],
    ['cs1', orgId],
    ['cs2Label', 'connectionId'],
    ['cs2', event.connectionId ?? ''],
    ['cs3Label', 'deliveryId'],
    ['cs3', deliveryId],
    ['msg', event.title],
  ]
    .map(([k, v]) => `${k}=${cefValue(v!)}`)
    .join(' ');
  return `CEF:0|Igris|Igris Edge|1|${cefHeader(event.type)}|${cefHeader(event.title)}|${CEF_SEVERITY[event.severity]}|${extension}\n`;
}

/** The event as one flat record (NDJSON line, HEC event, webhook payload's `event`). */
function record({ event, orgId, deliveryId, link }: Envelope): Record<string, unknown> {
  return {
    '@timestamp': event.occurredAt,
    vendor: 'Igris Edge',
    organizationId: orgId,
    deliveryId,
    eventId: event.id,
    type: event.type,
    severity: event.severity,
    title: event.title,
    alertId: event.alertId,
    connectionId: event.connectionId,
    fingerprint: event.fingerprint,
    details: event.details,
    link,
  };
}

function ecsDocument(envelope: Envelope): Record<string, unknown> {
  const { event, orgId } = envelope;
  return {
    '@timestamp': event.occurredAt,
    message: event.title,
    event: {
      kind: 'alert',
      category: ['intrusion_detection'],
      id: event.id,
      type: ['info'],
      severity: CEF_SEVERITY[event.severity],
      dataset: `igris.${event.type}`,
      provider: 'igris-edge',
    },
    labels: { organization_id: orgId, connection_id: event.connectionId ?? '' },
    igris: { type: event.type, severity: event.severity, alert_id: event.alertId, details: event.details },
  };
}

function siemRequest(format: SiemFormat, envelope: Envelope, secret: ChannelSecret): OutgoingRequest {
  const headers: Record<string, string> = {};
  let body: string;
  if (format === 'cef') {
    headers['Content-Type'] = 'text/plain; charset=utf-8';
    body = cefLine(envelope);
  } else if (format === 'splunk_hec') {
    headers['Content-Type'] = 'application/json';
    const time = (Date.parse(envelope.event.occurredAt) || Date.now()) / 1000;
    body = JSON.stringify({ time, source: 'igris-edge', sourcetype: 'igris:alert', event: record(envelope) });
  } else if (format === 'elastic_bulk') {
    headers['Content-Type'] = 'application/x-ndjson';
    body = `${JSON.stringify({ create: {} })}\n${JSON.stringify(ecsDocument(envelope))}\n`;
  } else {
    headers['Content-Type'] = 'application/x-ndjson';
    body = `${JSON.stringify(record(envelope))}\n`;
  }
  if (secret.token) {
    const scheme = format === 'splunk_hec' ? 'Splunk' : format === 'elastic_bulk' ? 'ApiKey' : 'Bearer';
    headers.Authorization = `${scheme} ${secret.token}`;
  }
  return { url: secret.url, headers, body };
}

/**
 * The request one attempt sends. A webhook's signature is made per attempt (its timestamp is the
 * attempt's), so a receiver may refuse anything older than a few minutes.
 */
export async function buildRequest(
  target: ChannelTarget,
  secret: ChannelSecret,
  envelope: Envelope,
  nowSeconds: number,
): Promise<OutgoingRequest> {
  const base = { 'User-Agent': 'IgrisEdge-Notify/1', [DELIVERY_HEADER]: envelope.deliveryId };
  if (target.type === 'slack') {
    return {
      url: secret.url,
      headers: { ...base, 'Content-Type': 'application/json' },
      body: slackBody(envelope),
    };
  }
  if (target.type === 'siem') {
    const request = siemRequest(target.format ?? 'ndjson', envelope, secret);
    return { ...request, headers: { ...base, ...request.headers } };
  }
  const body = JSON.stringify({
    version: 1,
    deliveryId: envelope.deliveryId,
    organizationId: envelope.orgId,
    event: envelope.event,
    link: envelope.link,
  });
  const headers: Record<string, string> = { ...base, 'Content-Type': 'application/json' };
  if (secret.secret) {
    headers[TIMESTAMP_HEADER] = String(nowSeconds);
    headers[SIGNATURE_HEADER] = await signature(secret.secret, nowSeconds, body);
  }
  return { url: secret.url, headers, body };
}

/** The dashboard's alert inbox, opened on this alert, when the public base URL is configured. */
export function alertLink(publicBaseUrl: string | undefined, event: NotifyEvent): string | null {
  if (!publicBaseUrl) return null;
  const base = publicBaseUrl.replace(/\/+$/, '');
  // An approval's notification opens the approval itself, where the approver decides.
  const approvalId = event.type.startsWith('approval_') ? event.details.approvalId : undefined;
  if (typeof approvalId === 'string') return `${base}/approvals/${encodeURIComponent(approvalId)}`;
  return event.alertId ? `${base}/alerts?id=${encodeURIComponent(event.alertId)}` : `${base}/alerts`;
}

/** The dashboard's trace view for an alert raised by a call (details.traceId), when the base URL is known. */
export function traceLink(publicBaseUrl: string | undefined, event: NotifyEvent): string | null {
  const traceId = event.details.traceId;
  if (!publicBaseUrl || typeof traceId !== 'string' || traceId === '') return null;
  return `${publicBaseUrl.replace(/\/+$/, '')}/audit/traces/${encodeURIComponent(traceId)}`;
}

/** The SSRF rules of upstream URLs (https, no private or metadata addresses, no credentials in it). */
export function checkChannelUrl(env: { ALLOW_PRIVATE_UPSTREAMS?: string }, url: string): URL | string {
  const result = checkOutboundUrl(env, url);
  return result.ok ? result.url : result.rule;
}
