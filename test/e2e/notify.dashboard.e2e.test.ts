/**
 * The dead-letter queue on the Alerts screen, in real headless Chromium against the shared stack
 * (which retries a second apart, four attempts: test/e2e/global-setup.ts): a webhook channel to a
 * receiver that always answers 500; a kill switch refuses a call and raises an alert; the owner,
 * signed in to the dashboard, sees the delivery land in "Dead letters" after its four attempts; the
 * receiver is made to succeed, the owner clicks Replay, and "Recent deliveries" shows it delivered.
 * The receiver and the API confirm each step.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Listening, listen } from '../shared/local.server';
import { type Browser, signedInBrowser } from './browser';
import { api, echoCall, ensureConnection } from './helpers';

const run = randomBytes(4).toString('hex');
const slug = `notify-ui-${run}`;
const channelName = `always-down-${run}`;

type Delivery = {
  id: string;
  alertId: string | null;
  status: string;
  attempts: number;
  lastError: string | null;
};

let browser: Browser;
let page: Page;
let server: Listening | undefined;
let healthy = false;
const hits: Array<{ status: number; delivery: string }> = [];
let channelId = '';
let killSwitchId = '';

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The alert our kill switch raised (other tests' kill switches may reach this channel too). */
let alertId = '';

async function ourDelivery(): Promise<Delivery | undefined> {
  if (!alertId) {
    const alerts = await api<{ alerts: Array<{ id: string; details: { killSwitchId?: string } }> }>(
      'GET',
      '/alerts?type=kill_switch&limit=200',
    );
    alertId = alerts.body.alerts.find((a) => a.details.killSwitchId === killSwitchId)?.id ?? '';
    if (!alertId) return undefined;
  }
  const res = await api<{ deliveries: Delivery[] }>(
    'GET',
    `/alerts/deliveries?channelId=${channelId}&limit=200`,
  );
  return res.body.deliveries.find((d) => d.alertId === alertId);
}

describe('Dead letters on the Alerts screen (real Chromium)', () => {
  beforeAll(async () => {
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const status = healthy ? 204 : 500;
        hits.push({ status, delivery: String(req.headers['x-igris-delivery'] ?? '') });
        res.writeHead(status).end();
      });
    });
    server = await listen(receiver);
    const url = `${server.url}/hook`;
    await ensureConnection(slug, `${inject('upstreamUrl')}/stateless`, null);
    const channel = await api<{ id: string }>('POST', '/alerts/channels', {
      type: 'webhook',
      name: channelName,
      url,
      secret: `whsec-notify-ui-${run}-0123456789`,
      minSeverity: 'high',
      eventTypes: ['kill_switch'],
    });
    expect(channel.status, JSON.stringify(channel.body)).toBe(201);
    channelId = channel.body.id;

    browser = await signedInBrowser();
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    if (killSwitchId) await api('DELETE', `/kill-switch/${killSwitchId}`);
    if (channelId) await api('DELETE', `/alerts/channels/${channelId}`);
    await browser?.close();
    await server?.close();
  });

  it('shows a delivery that always failed as a dead letter, and replays it to delivered', async () => {
    // An alert to deliver: a kill switch on the connection refuses a call.
    const pulled = await api<{ id: string }>('POST', '/kill-switch', { scope: 'connection', target: slug });
    expect(pulled.status).toBe(201);
    killSwitchId = pulled.body.id;
    await echoCall(slug);

    await page
      .getByRole('navigation', { name: 'Primary' })
      .getByRole('link', { name: 'Alerts', exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
    await page.getByText(channelName, { exact: true }).waitFor();

    // The receiver answers 500 to each of the four attempts: the delivery is dead-lettered.
    const dead = await until('the dead letter', async () => {
      const d = await ourDelivery();
      return d?.status === 'dead' ? d : undefined;
    });
    expect(dead).toMatchObject({ attempts: 4, lastError: 'http_500' });
    expect(hits.filter((h) => h.delivery === dead.id).map((h) => h.status)).toEqual([500, 500, 500, 500]);

    // On screen, in the dead-letter list (it polls), with its channel, attempts and error.
    const letter = page.getByTestId(`dead-letter-${dead.id}`);
    await letter.waitFor({ timeout: 45_000 });
    await letter.getByText(`${channelName} · 4 attempts · http_500`).waitFor();
    await page.getByTestId(`delivery-${dead.id}`).getByText('dead', { exact: true }).waitFor();

    // The receiver recovers; Replay sends the delivery again.
    healthy = true;
    await letter.getByRole('button', { name: `Replay ${dead.id}` }).click();
    await page.locator('.toast', { hasText: 'Delivery queued again' }).first().waitFor();
    await letter.waitFor({ state: 'detached' });
    const recent = page.getByTestId(`delivery-${dead.id}`);
    await recent.getByText('delivered', { exact: true }).waitFor({ timeout: 45_000 });
    await recent.getByText(`${channelName} · 1 attempt`).waitFor();

    // The receiver got it, with the same delivery id; the API agrees.
    expect(hits.filter((h) => h.delivery === dead.id).at(-1)?.status).toBe(204);
    expect(await ourDelivery()).toMatchObject({ id: dead.id, status: 'delivered', attempts: 1 });
    expect(browser.errors).toEqual([]);
  });
});
