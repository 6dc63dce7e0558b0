/**
 * Real headless Chromium for the dashboard tests, driven by playwright-core (never `playwright
 * install`): the system's /usr/bin/chromium when present, else the npm-shipped build (see
 * chromium.locate.ts); a fresh profile per launch, removed afterwards.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { ROOT } from '../../scripts/local-stack';
import { locateChromium } from './chromium.locate';
import { adminKey, gatewayUrl } from './helpers';
import { readLocalD1 } from './local-d1';

export const SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions of every page (401s while signed out are expected). */
  errors: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * `clientAddress`: the address the browser's requests come from, as Cloudflare's edge would name it
 * in CF-Connecting-IP (sign-up.fixtures.ts: a browser that signs up sends its file's own); without
 * it, none (the local runtime then knows the caller by no address).
 */
export async function launchBrowser(
  options: { width?: number; height?: number; clientAddress?: string } = {},
): Promise<Browser> {
  const chromiumBuild = locateChromium();
  const profile = mkdtempSync(path.join(os.tmpdir(), 'igris-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumBuild.executablePath,
    env: { ...process.env, ...chromiumBuild.env },
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: options.width ?? 1360, height: options.height ?? 860 },
    acceptDownloads: true,
    locale: 'en-US',
    timezoneId: 'UTC',
    ...(options.clientAddress ? { extraHTTPHeaders: { 'CF-Connecting-IP': options.clientAddress } } : {}),
  });
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/status of 401/.test(msg.text())) errors.push(`console: ${msg.text()}`);
    });
  };
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  page.setDefaultTimeout(20_000);
  return {
    context,
    page,
    errors,
    async newPage() {
      const next = await context.newPage();
      next.setDefaultTimeout(20_000);
      return next;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A browser signed in to the shared stack's dashboard (or the stack at `base`) with an API key (the
 * admin key unless another is given), waiting on the Observe screen every sign-in lands on.
 */
export async function signedInBrowser(apiKey = adminKey(), base = gatewayUrl()): Promise<Browser> {
  const browser = await launchBrowser();
  const { page } = browser;
  await page.goto(`${base}/`);
  await page.getByRole('tab', { name: 'API key' }).click();
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Observe' }).waitFor();
  return browser;
}

/** Saves docs/screenshots/<name>.png (the README shows them). */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Full-page shots from the top, so sticky bars are where a reader expects them; transient toasts
  // are left out (they cover content and say nothing about the screen).
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({
    path: path.join(SCREENSHOTS, `${name}.png`),
    fullPage,
    animations: 'disabled',
    style: '.toasts { visibility: hidden !important; }',
  });
}

/**
 * The development mail outbox (email_outbox in the local D1 database, where the outbox sender
 * writes invitations and reset links): the newest message to `to`, or null.
 */
export function latestMail(persistTo: string, to: string): { subject: string; body: string } | null {
  const row = readLocalD1(persistTo, 'email_outbox', (db) =>
    db
      .prepare('SELECT subject, body FROM email_outbox WHERE "to" = ? ORDER BY created_at DESC LIMIT 1')
      .get(to),
  ) as { subject: string; body: string } | undefined;
  return row ?? null;
}
