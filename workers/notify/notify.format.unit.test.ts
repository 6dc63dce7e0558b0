/**
 * What each channel type receives, the webhook signature as a receiver verifies it (Node's own
 * HMAC), routing, backoff, and the SSRF rules of channel URLs.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { NotifyEvent } from '../shared/notify.message';
import {
  alertLink,
  backoffSeconds,
  buildRequest,
  checkChannelUrl,
  routes,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  traceLink,
} from './notify.format';

const event: NotifyEvent = {
  id: 'alt_1',
  type: 'kill_switch',
  severity: 'high',
  title: 'Calls refused | on <prod> = bad\nline',
  alertId: 'alt_1',
  connectionId: 'con_1',
  fingerprint: 'kill_switch:ks_1',
  details: { killSwitchId: 'ks_1' },
  occurredAt: '2026-12-03T18:00:00.000Z',
};
const envelope = {
  deliveryId: 'dlv_1',
  orgId: 'org_1',
  event,
  link: 'https://gw.example.com/alerts?id=alt_1',
};

describe('webhook signature', () => {
  it('verifies with HMAC-SHA256 over "<timestamp>.<body>" and fails for another body or time', async () => {
    const secret = 'whsec-0123456789abcdef';
    const req = await buildRequest(
      { type: 'webhook', format: null },
      { url: 'https://r.example/h', secret },
      envelope,
      1_700_000_000,
    );
    const ts = req.headers[TIMESTAMP_HEADER]!;
    expect(ts).toBe('1700000000');
    const expected = `v1=${createHmac('sha256', secret).update(`${ts}.${req.body}`).digest('hex')}`;
    const got = req.headers[SIGNATURE_HEADER]!;
    expect(timingSafeEqual(Buffer.from(got), Buffer.from(expected))).toBe(true);
    const replayed = `v1=${createHmac('sha256', secret).update(`1700000001.${req.body}`).digest('hex')}`;
    expect(got).not.toBe(replayed);
    expect(JSON.parse(req.body)).toEqual({
      version: 1,
      deliveryId: 'dlv_1',
      organizationId: 'org_1',
      event,
      link: envelope.link,
    });
  });
});

describe('channel bodies', () => {
  it('slack: a text fallback and blocks, with mrkdwn escaped and a link back', async () => {
    const req = await buildRequest(
      { type: 'slack', format: null },
      { url: 'https://hooks.slack.com/services/x' },
      envelope,
      1,
    );
    const body = JSON.parse(req.body);
    expect(body.text).toBe(`[HIGH] ${event.title}`);
    expect(body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: event.title } });
    expect(JSON.stringify(body.blocks[1])).toContain('con_1');
    expect(body.blocks[2].elements[0].text).toBe(`<${envelope.link}|Open in Igris Edge>`);
    expect(body.blocks[2].elements).toHaveLength(1);
    // An alert raised by a call links to its trace as well.
    const traced = { ...event, details: { ...event.details, traceId: 'run 42' } };
    const withTrace = await buildRequest(
      { type: 'slack', format: null },
      { url: 'https://hooks.slack.com/services/x' },
      { ...envelope, event: traced, traceLink: traceLink('https://gw.example.com/', traced) },
      1,
    );
    expect(JSON.parse(withTrace.body).blocks[2].elements[1].text).toBe(
      '<https://gw.example.com/audit/traces/run%2042|Open the trace>',
    );
    expect(traceLink('https://gw.example.com', event)).toBeNull();
    expect(traceLink(undefined, traced)).toBeNull();
    expect(req.headers[SIGNATURE_HEADER]).toBeUndefined();
  });

  it('cef: one CEF:0 line with header and extension escaping', async () => {
    const req = await buildRequest(
      { type: 'siem', format: 'cef' },
      { url: 'https://siem.example/in' },
      envelope,
      1,
    );
    expect(req.body.endsWith('\n')).toBe(true);
    expect(req.body.split('\n')).toHaveLength(2);
    expect(req.body).toContain(
      'CEF:0|Igris|Igris Edge|1|kill_switch|Calls refused \\| on <prod> = bad line|8|',
    );
    expect(req.body).toContain('msg=Calls refused | on <prod> \\= bad\\nline');
    expect(req.body).toContain('cs1=org_1');
  });

  it('splunk_hec and elastic_bulk: their shapes and authorization schemes', async () => {
    const hec = await buildRequest(
      { type: 'siem', format: 'splunk_hec' },
      { url: 'https://s/hec', token: 'tok' },
      envelope,
      1,
    );
    expect(hec.headers.Authorization).toBe('Splunk tok');
    expect(JSON.parse(hec.body)).toMatchObject({
      sourcetype: 'igris:alert',
      event: { type: 'kill_switch', alertId: 'alt_1' },
    });
    const bulk = await buildRequest(
      { type: 'siem', format: 'elastic_bulk' },
      { url: 'https://e/_bulk', token: 'k' },
      envelope,
      1,
    );
    expect(bulk.headers.Authorization).toBe('ApiKey k');
    const [action, doc, end] = bulk.body.split('\n');
    expect(JSON.parse(action!)).toEqual({ create: {} });
    expect(JSON.parse(doc!)).toMatchObject({ message: event.title, event: { kind: 'alert', severity: 8 } });
    expect(end).toBe('');
    const nd = await buildRequest({ type: 'siem', format: 'ndjson' }, { url: 'https://n/in' }, envelope, 1);
    expect(nd.headers.Authorization).toBeUndefined();
    expect(JSON.parse(nd.body.trim())).toMatchObject({
      type: 'kill_switch',
      severity: 'high',
      organizationId: 'org_1',
    });
  });
});

describe('links', () => {
  it('an alert links to the inbox; an approval event to the approval itself', () => {
    expect(alertLink('https://gw.example.com/', event)).toBe('https://gw.example.com/alerts?id=alt_1');
    const approval = {
      ...event,
      type: 'approval_requested',
      details: { approvalId: 'apr_1' },
    } satisfies NotifyEvent;
    expect(alertLink('https://gw.example.com', approval)).toBe('https://gw.example.com/approvals/apr_1');
    expect(
      alertLink('https://gw.example.com', { ...approval, type: 'approval_decided', alertId: null }),
    ).toBe('https://gw.example.com/approvals/apr_1');
    // Only approval events read details.approvalId.
    expect(alertLink('https://gw.example.com', { ...event, details: { approvalId: 'apr_1' } })).toBe(
      'https://gw.example.com/alerts?id=alt_1',
    );
    expect(alertLink(undefined, approval)).toBeNull();
  });
});

describe('routing and backoff', () => {
  it('routes by minimum severity and event types', () => {
    expect(routes({ minSeverity: 'high', eventTypes: null }, event)).toBe(true);
    expect(routes({ minSeverity: 'critical', eventTypes: null }, event)).toBe(false);
    expect(routes({ minSeverity: 'info', eventTypes: ['drift'] }, event)).toBe(false);
    expect(routes({ minSeverity: 'info', eventTypes: ['drift', 'kill_switch'] }, event)).toBe(true);
  });

  it('doubles the delay per attempt, capped at an hour', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffSeconds(a, 30))).toEqual([30, 60, 120, 240, 480]);
    expect(backoffSeconds(20, 30)).toBe(3600);
    expect(backoffSeconds(3, 0)).toBe(0);
  });
});

describe('channel URL rules (SSRF)', () => {
  const production = { ALLOW_PRIVATE_UPSTREAMS: 'false' };
  it.each([
    ['http://hooks.example.com/x', 'scheme'],
    ['https://169.254.169.254/latest/meta-data', 'cloud-metadata'],
    ['https://127.0.0.1:8080/', 'loopback'],
    ['https://10.0.0.5/hook', 'private'],
    ['https://metadata.google.internal/', 'cloud-metadata'],
    ['https://user:pw@hooks.example.com/', 'credentials'],
    ['https://hooks.example.com/?token=abc', 'query-credential'],
    ['file:///etc/passwd', 'scheme'],
  ])('refuses %s', (url, rule) => {
    const result = checkChannelUrl(production, url);
    expect(typeof result).toBe('string');
    expect(result).toBe(rule);
  });

  it('accepts a public https URL', () => {
    expect(checkChannelUrl(production, 'https://hooks.slack.com/services/T/B/X')).toBeInstanceOf(URL);
  });
});
