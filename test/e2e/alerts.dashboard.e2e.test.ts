/**
 * The Alerts screen in real headless Chromium against the shared stack: two kill switches refuse
 * calls and raise two alerts; an owner signed in to the dashboard takes one through the workflow
 * open → acknowledged → resolved → reopened with the row buttons and the status filter, then
 * dismisses both at once with the bulk action. The API confirms every step.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, signedInBrowser } from './browser';
import { api, echoCall, ensureConnection } from './helpers';

const run = randomBytes(4).toString('hex');
const slugs = [`alerts-ui-a-${run}`, `alerts-ui-b-${run}`];

let browser: Browser;
let page: Page;
const killSwitches: string[] = [];

type Alert = { id: string; title: string; status: string; details: { killSwitchId?: string } };

async function alertOf(killSwitchId: string): Promise<Alert | undefined> {
  const res = await api<{ alerts: Alert[] }>('GET', '/alerts?type=kill_switch&limit=200');
  return res.body.alerts.find((a) => a.details.killSwitchId === killSwitchId);
}

async function statusOf(id: string): Promise<string | undefined> {
  const res = await api<{ alerts: Alert[] }>('GET', '/alerts?type=kill_switch&limit=200');
  return res.body.alerts.find((a) => a.id === id)?.status;
}

describe('Alerts screen (real Chromium)', () => {
  const alerts: Alert[] = [];

  beforeAll(async () => {
    for (const slug of slugs) {
      await ensureConnection(slug, `${inject('upstreamUrl')}/stateless`, null);
      const pulled = await api<{ id: string }>('POST', '/kill-switch', { scope: 'connection', target: slug });
      expect(pulled.status).toBe(201);
      killSwitches.push(pulled.body.id);
      await echoCall(slug);
    }
    for (const id of killSwitches) {
      const deadline = Date.now() + 30_000;
      let alert: Alert | undefined;
      while (!alert && Date.now() < deadline) {
        alert = await alertOf(id);
        if (!alert) await new Promise((r) => setTimeout(r, 250));
      }
      if (!alert) throw new Error(`no alert for kill switch ${id}`);
      alerts.push(alert);
    }
    browser = await signedInBrowser();
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    for (const id of killSwitches) await api('DELETE', `/kill-switch/${id}`);
    await browser?.close();
  });

  it('takes an alert through acknowledged, resolved and reopened, then dismisses two in bulk', async () => {
    const [a, b] = alerts as [Alert, Alert];
    await page
      .getByRole('navigation', { name: 'Primary' })
      .getByRole('link', { name: 'Alerts', exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
    const status = page.getByLabel('Status');

    // Open is the default filter.
    const rowA = page.getByTestId(`alert-row-${a.id}`);
    await rowA.getByText(a.title).waitFor();
    await rowA.getByRole('button', { name: `Acknowledge ${a.title}` }).click();
    await page.locator('.toast', { hasText: '1 alert acknowledged' }).first().waitFor();
    await rowA.waitFor({ state: 'detached' });
    expect(await statusOf(a.id)).toBe('acknowledged');

    await status.selectOption('acknowledged');
    await rowA.getByRole('button', { name: `Resolve ${a.title}` }).click();
    await rowA.waitFor({ state: 'detached' });
    expect(await statusOf(a.id)).toBe('resolved');

    await status.selectOption('resolved');
    await rowA.getByText('resolved', { exact: true }).waitFor();
    await rowA.getByRole('button', { name: `Reopen ${a.title}` }).click();
    await rowA.waitFor({ state: 'detached' });
    expect(await statusOf(a.id)).toBe('open');

    // Bulk: both open alerts selected and dismissed at once.
    await status.selectOption('open');
    await page.getByRole('checkbox', { name: `Select ${a.title}` }).check();
    await page.getByRole('checkbox', { name: `Select ${b.title}` }).check();
    await page.getByRole('toolbar', { name: 'Bulk actions' }).getByText('2 selected').waitFor();
    await page.getByRole('button', { name: 'Dismiss selected' }).click();
    await page.locator('.toast', { hasText: '2 alerts dismissed' }).first().waitFor();
    await rowA.waitFor({ state: 'detached' });
    await page.getByTestId(`alert-row-${b.id}`).waitFor({ state: 'detached' });
    expect([await statusOf(a.id), await statusOf(b.id)]).toEqual(['dismissed', 'dismissed']);
    expect(browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  }, 120_000);
});
