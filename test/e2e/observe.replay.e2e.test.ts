/**
 * Observe opened right after calls were made shows every call exactly once (real Chromium, the
 * shared stack). The calls' audit rows reach D1 only at their guard's spool flush (FLUSH_DELAY_MS,
 * 1 s), so a page opened sooner finds none of them in D1: it reads its history from D1 up to a split
 * 10 s before it opened, and the rest from the event hub's replay (`GET /api/v1/events?since=`).
 * Before that split existed, these calls were in neither half and never shown. Opened again once
 * the rows are in D1, each call is still shown once (from the replay, not also from D1).
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, signedInBrowser } from './browser';
import { adminKey, ensureConnection, gatewayUrl, setPolicy, waitForAudit } from './helpers';

const run = randomBytes(4).toString('hex');
const slug = `observe-replay-${run}`;
const CALLS = 5;
const traces = Array.from({ length: CALLS }, (_, i) => `ig_trace_observe_replay_${run}_${i}`);

let browser: Browser;
let page: Page;

/** One stateless tools/call through the gateway, traced `trace`. */
async function call(trace: string): Promise<void> {
  const res = await fetch(`${gatewayUrl()}/v1/mcp/${slug}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${adminKey()}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'X-Igris-Trace-Id': trace,
      'X-Igris-User': `replay-${run}@example.com`,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: trace } },
    }),
  });
  expect(res.status).toBe(200);
  expect(await res.text()).toContain(trace);
}

/** How many stream items show each trace, once the list holds them all and its history is in. */
async function shownOnce(): Promise<number[]> {
  const list = page.getByRole('list', { name: 'Live events, newest first' });
  for (const trace of traces) await list.getByRole('link', { name: trace, exact: true }).first().waitFor();
  // The back-fill is in (a call it also held would be listed twice by now).
  await page.locator('ol.stream[aria-busy="false"]').waitFor();
  return Promise.all(traces.map((trace) => list.getByRole('link', { name: trace, exact: true }).count()));
}

describe('Observe opened right after calls (real Chromium)', () => {
  beforeAll(async () => {
    await ensureConnection(slug, `${inject('upstreamUrl')}/stateless`, null);
    await setPolicy(slug, [{ tool: '*', action: 'allow' }]);
    browser = await signedInBrowser();
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('shows every call made just before the page opened exactly once, before and after the rows reach D1', async () => {
    await page.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor();
    for (const trace of traces) await call(trace);
    // Opened at once: well inside the spool's flush interval, none of these rows is in D1 yet.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Observe' }).waitFor();
    expect(await shownOnce()).toEqual(traces.map(() => 1));

    // Once D1 has every row, a page opened again shows each once still (from one half only).
    await waitForAudit<{ id: string; traceId: string | null }>(`connection=${slug}&limit=50`, (rows) =>
      traces.every((t) => rows.some((r) => r.traceId === t)),
    );
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Observe' }).waitFor();
    expect(await shownOnce()).toEqual(traces.map(() => 1));
    expect(browser.errors).toEqual([]);
  });
});
