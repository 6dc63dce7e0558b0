/**
 * Notification channels end to end (docs/observability.md#notification-channels), through
 * the local runtime with its local queue: a kill-switch refusal raises an alert, the organization's hub
 * queues it, and the Worker's queue handler delivers it to real HTTP receivers started here —
 *   - a webhook whose receiver verifies the HMAC signature with Node's crypto,
 *   - a Slack incoming-webhook fake and a Splunk-HEC-shaped fake that requires its token,
 *   - a receiver that fails three times (500) and gets the delivery on the fourth attempt,
 *   - one that always fails: the delivery lands in the dead-letter list and is replayed from the API.
 * The stack retries a second apart, four attempts (test/e2e/global-setup.ts). Also: secrets never
 * come back from the API, the SSRF rules, and the "send test" endpoint.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Listening, listen } from '../shared/local.server';
import { api, echoCall, ensureConnection } from './helpers';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  status: number;
}

const SLUG = 'e2e-notify';
const SECRET = 'whsec-e2e-0123456789abcdef';
const HEC_TOKEN = 'hec-token-e2e-4711';
const SLACK_PATH = '/slack/services/T000/B000/XXXXSECRETXXXX';

let server: Listening;
let base = '';
const received: Received[] = [];
let flakyFailures = 0;
let downHealthy = false;

/** The receivers' behaviour, by path: what status they answer. */
function statusFor(path: string, headers: Record<string, string | string[] | undefined>): number {
  if (path === '/flaky') return flakyFailures++ < 3 ? 500 : 200;
  if (path === '/down') return downHealthy ? 204 : 500;
  if (path === '/hec') return headers.authorization === `Splunk ${HEC_TOKEN}` ? 200 : 401;
  return 200;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 40_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** What a receiver verifies: the signature over "<timestamp>.<body>" with the shared secret. */
function verifySignature(r: Received): boolean {
  const ts = String(r.headers['x-igris-timestamp'] ?? '');
  const got = String(r.headers['x-igris-signature'] ?? '');
  const expected = `v1=${createHmac('sha256', SECRET).update(`${ts}.${r.body}`).digest('hex')}`;
  return got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected));
}

type Channel = { id: string; url: string; hasSecret: boolean };
type Delivery = { id: string; channelId: string; status: string; attempts: number; lastError: string | null };

async function createChannel(body: Record<string, unknown>): Promise<Channel> {
  const res = await api<Channel>('POST', '/alerts/channels', {
    minSeverity: 'high',
    eventTypes: ['kill_switch'],
    ...body,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function deliveriesOf(channelId: string): Promise<Delivery[]> {
  const res = await api<{ deliveries: Delivery[] }>('GET', `/alerts/deliveries?channelId=${channelId}`);
  expect(res.status).toBe(200);
  return res.body.deliveries;
}

describe('notification channels, end to end', () => {
  const channels: Record<string, Channel> = {};
  let killSwitchId = '';

  beforeAll(async () => {
    const receivers = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = (req.url ?? '/').split('?')[0]!;
        const status = statusFor(path, req.headers);
        received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
        res.writeHead(status).end();
      });
    });
    server = await listen(receivers);
    base = server.url;
    await ensureConnection(SLUG, `${inject('upstreamUrl')}/stateless`, null);
  });

  afterAll(async () => {
    if (killSwitchId) await api('DELETE', `/kill-switch/${killSwitchId}`);
    for (const c of Object.values(channels)) await api('DELETE', `/alerts/channels/${c.id}`);
    await server.close();
  });

  it('stores channels without ever returning their secrets, and refuses unsafe URLs', async () => {
    channels.webhook = await createChannel({
      type: 'webhook',
      name: 'hook',
      url: `${base}/hook`,
      secret: SECRET,
    });
    channels.flaky = await createChannel({
      type: 'webhook',
      name: 'flaky',
      url: `${base}/flaky`,
      secret: SECRET,
    });
    channels.down = await createChannel({
      type: 'webhook',
      name: 'down',
      url: `${base}/down`,
      secret: SECRET,
    });
    channels.slack = await createChannel({ type: 'slack', name: 'slack', url: `${base}${SLACK_PATH}` });
    channels.hec = await createChannel({
      type: 'siem',
      name: 'splunk',
      url: `${base}/hec`,
      format: 'splunk_hec',
      token: HEC_TOKEN,
    });
    expect(channels.slack.url).toBe(`${base}/…`);
    const listed = await api<{ channels: Channel[] }>('GET', '/alerts/channels');
    const text = JSON.stringify(listed.body);
    for (const secret of [SECRET, HEC_TOKEN, 'XXXXSECRETXXXX']) expect(text).not.toContain(secret);
    expect(listed.body.channels.filter((c) => c.hasSecret).length).toBeGreaterThanOrEqual(5);

    for (const url of ['https://user:pw@hooks.example.com/x', 'ftp://hooks.example.com/x', 'not a url']) {
      const refused = await api<{ error: { code: string } }>('POST', '/alerts/channels', {
        type: 'slack',
        name: 'bad',
        url,
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('validation_failed');
    }
  });

  it('sends a test notification at once, signed, and reports a failing channel', async () => {
    const ok = await api<{ ok: boolean; error: string | null }>(
      'POST',
      `/alerts/channels/${channels.webhook!.id}/test`,
    );
    expect(ok.body).toEqual({ ok: true, error: null });
    const test = received.find((r) => r.path === '/hook' && JSON.parse(r.body).event.type === 'test')!;
    expect(verifySignature(test)).toBe(true);
    const failing = await api('POST', `/alerts/channels/${channels.down!.id}/test`);
    expect(failing.body).toEqual({ ok: false, error: 'http_500' });
  });

  it('delivers an alert to every routed channel, retries after 500s, dead-letters and replays', async () => {
    const pulled = await api<{ id: string }>('POST', '/kill-switch', {
      scope: 'connection',
      target: SLUG,
      reason: 'notify e2e',
    });
    expect(pulled.status).toBe(201);
    killSwitchId = pulled.body.id;
    await echoCall(SLUG);

    // Ours: about this kill switch (Slack's readable message names the connection instead).
    const ours = (path: string) =>
      received.filter((r) => r.path === path && r.body.includes(path === SLACK_PATH ? SLUG : killSwitchId));
    // The signed webhook: verified as a receiver would, about our kill switch.
    const hook = await until('the webhook delivery', () => ours('/hook')[0]);
    expect(verifySignature(hook)).toBe(true);
    const payload = JSON.parse(hook.body);
    expect(payload.event).toMatchObject({ type: 'kill_switch', severity: 'high', details: { killSwitchId } });
    expect(hook.headers['x-igris-delivery']).toBe(payload.deliveryId);
    // Slack: readable blocks; Splunk HEC: its event shape, with the token.
    const slack = await until('the Slack delivery', () => ours(SLACK_PATH)[0]);
    expect(JSON.parse(slack.body).blocks[0].text.text).toContain(SLUG);
    const hec = await until('the HEC delivery', () => ours('/hec')[0]);
    expect(hec.status).toBe(200);
    expect(JSON.parse(hec.body)).toMatchObject({ sourcetype: 'igris:alert', event: { type: 'kill_switch' } });

    // Fails three times, delivered on the fourth attempt.
    const flaky = await until('the fourth attempt', async () => {
      const [d] = await deliveriesOf(channels.flaky!.id);
      return d?.status === 'delivered' ? d : undefined;
    });
    expect(flaky.attempts).toBe(4);
    expect(ours('/flaky').map((r) => r.status)).toEqual([500, 500, 500, 200]);

    // Always fails: dead after four attempts, in the dead-letter list.
    const dead = await until('the dead letter', async () => {
      const [d] = await deliveriesOf(channels.down!.id);
      return d?.status === 'dead' ? d : undefined;
    });
    expect(dead).toMatchObject({ attempts: 4, lastError: 'http_500' });
    const letters = await api<{ deliveries: Delivery[] }>('GET', '/alerts/deliveries?status=dead');
    expect(letters.body.deliveries.map((d) => d.id)).toContain(dead.id);
    expect(ours('/down')).toHaveLength(4);

    // Replayed once the receiver is back: delivered, with the same delivery id.
    downHealthy = true;
    const replay = await api<Delivery>('POST', `/alerts/deliveries/${dead.id}/replay`);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ status: 'pending', attempts: 0 });
    const replayed = await until('the replayed delivery', async () => {
      const [d] = await deliveriesOf(channels.down!.id);
      return d?.status === 'delivered' ? d : undefined;
    });
    expect(replayed.id).toBe(dead.id);
    const last = ours('/down').at(-1)!;
    expect(last.status).toBe(204);
    expect(last.headers['x-igris-delivery']).toBe(dead.id);
    expect(verifySignature(last)).toBe(true);
    // Only a dead letter can be replayed.
    expect((await api('POST', `/alerts/deliveries/${dead.id}/replay`)).status).toBe(409);
  });
});
