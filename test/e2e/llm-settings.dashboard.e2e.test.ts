/**
 * The Provider settings card of an LLM connection (dashboard/src/screens/connection-llm.settings.tsx,
 * docs/llm-gateway.md#connections) in real headless Chromium against the shared stack, with the
 * official `openai` SDK calling through the gateway to the local fake provider:
 *
 *   shared objects   an owner finds them refused, turns the switch on (a confirmation names what
 *                    every caller will share), saves; the API then holds `sharedProviderObjects:
 *                    true`, and `beta.assistants.create`, refused before (403
 *                    shared_object_refused, nothing forwarded), reaches the provider
 *   allowed models   a glob with a space is shown under the field and nothing is saved; a valid
 *                    list saved in the form makes the gateway refuse a chat for another model
 *   stream bounds    typed in seconds, refused out of range at the field, saved in ms; each save
 *                    sends only the key that changed, and the other stored keys stay
 *   read-only        an auditor (may not edit connections) sees the saved values and no Save
 */
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, signedInBrowser } from './browser';
import { addMemberInD1, adminKey, adminOrgId, api, gatewayUrl } from './helpers';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { openaiClient } from './llm.fixtures.ts';
import { connectOwnersLlm } from './llm.owners.fixtures.ts';

const run = randomBytes(4).toString('hex');
const slug = `llm-card-${run}`;
const PROVIDER_KEY = `sk-provider-card-${run}`;

let fake: FakeProvider;
let owner: Browser;
let page: Page;
let openai: OpenAI;

interface Settings {
  allowedModels?: string[];
  sharedProviderObjects?: boolean;
  streamIdleTimeoutMs: number;
  heldStreamTimeoutMs: number;
  failMode: string;
  provider: string;
}

async function settings(): Promise<Settings> {
  const res = await api<{ settings: Settings }>('GET', `/connections/${slug}`);
  expect(res.status).toBe(200);
  return res.body.settings;
}

/** An auditor of the admin key's organization (reads every connection, edits none), with a key. */
async function auditorKey(): Promise<string> {
  return addMemberInD1(await adminOrgId(), 'auditor', 'e2e auditor');
}

/** The card's form on the connection's page. */
function card(p: Page): Locator {
  return p.getByRole('form', { name: 'Provider settings' });
}

/** Clicks Save and returns the `settings` the dashboard sent, once the toast says it was saved. */
async function saveAndCapture(): Promise<unknown> {
  const sent = page.waitForRequest(
    (r) => r.method() === 'PATCH' && r.url().endsWith(`/api/v1/connections/${slug}`),
  );
  await card(page).getByRole('button', { name: 'Save provider settings' }).click();
  const body = (await sent).postDataJSON() as { settings: unknown };
  await page
    .locator('.toast', { hasText: `Provider settings of ${slug} saved` })
    .last()
    .waitFor();
  return body.settings;
}

const assistant = () => openai.beta.assistants.create({ model: 'fake-gpt', name: `card ${run}` });
const providerAssistants = () => fake.requests.filter((r) => r.path.startsWith('/v1/assistants'));

describe('Provider settings card of an LLM connection (real Chromium, official openai SDK)', () => {
  beforeAll(async () => {
    fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
    await connectOwnersLlm(fake.url, slug, adminKey(), PROVIDER_KEY);
    openai = openaiClient(slug);
    owner = await signedInBrowser();
    page = owner.page;
  }, 120_000);

  afterAll(async () => {
    await owner?.close();
    await fake?.close();
  });

  it('turns shared provider objects on after a confirmation, and the gateway then forwards an Assistant', async () => {
    const refused = await assistant().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('shared_object_refused');
    expect(providerAssistants()).toEqual([]);

    await page.goto(`${gatewayUrl()}/connections/${slug}`);
    const form = card(page);
    await form.getByText('Refused', { exact: true }).waitFor();
    const toggle = form.getByRole('switch', { name: /Share Assistants, threads/ });
    expect(await toggle.isChecked()).toBe(false);
    await toggle.click();
    const dialog = page.getByRole('dialog', { name: 'Share provider objects between callers?' });
    await dialog
      .getByText("will see and change the others' assistants, threads, containers, evals and videos")
      .waitFor();
    // Cancelling leaves it off.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await toggle.isChecked()).toBe(false);
    await toggle.click();
    await dialog.getByRole('button', { name: 'Share between callers' }).click();
    expect(await toggle.isChecked()).toBe(true);
    // Only the key that changed is sent.
    expect(await saveAndCapture()).toEqual({ sharedProviderObjects: true });
    await card(page).getByText('Shared between callers', { exact: true }).waitFor();

    expect(await settings()).toMatchObject({
      sharedProviderObjects: true,
      provider: 'openai-compatible',
      streamIdleTimeoutMs: 300_000,
      heldStreamTimeoutMs: 570_000,
    });
    // Forwarded now: the fake provider has no Assistants API, so its own 404 comes back.
    const forwarded = await assistant().catch((e: unknown) => e);
    expect(forwarded).toBeInstanceOf(OpenAI.NotFoundError);
    expect((forwarded as Error).message).toContain('No route POST /v1/assistants (fake provider)');
    expect(providerAssistants().map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/assistants']);
  }, 120_000);

  it('shows an invalid model glob at the field and saves nothing; a saved list refuses other models', async () => {
    const chat = (model: string) =>
      openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello' }] });
    expect((await chat('fake-gpt')).choices[0]?.message.role).toBe('assistant');

    await page.goto(`${gatewayUrl()}/connections/${slug}`);
    const form = card(page);
    const models = form.getByLabel('Allowed models (one glob per line)');
    await models.fill('fake-claude*\nfake gpt');
    await form.getByText('model 2 ("fake gpt"): a model glob is printable ASCII without spaces').waitFor();
    const save = form.getByRole('button', { name: 'Save provider settings' });
    expect(await save.isDisabled()).toBe(true);
    expect((await settings()).allowedModels).toBeUndefined();

    await models.fill('fake-claude*\n\n  fake-embed  \n');
    await form.getByText('printable ASCII without spaces').waitFor({ state: 'detached' });
    expect(await saveAndCapture()).toEqual({ allowedModels: ['fake-claude*', 'fake-embed'] });
    expect(await settings()).toMatchObject({
      allowedModels: ['fake-claude*', 'fake-embed'],
      sharedProviderObjects: true,
    });

    const outside = await chat('fake-gpt').catch((e: unknown) => e);
    expect(outside).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((outside as InstanceType<typeof OpenAI.APIError>).code).toBe('policy_denied');
    expect((await chat('fake-claude-3')).choices[0]?.message.role).toBe('assistant');
  }, 120_000);

  it('takes the stream bounds in seconds, refuses them out of range at the field, and stores milliseconds', async () => {
    await page.goto(`${gatewayUrl()}/connections/${slug}`);
    const form = card(page);
    const idle = form.getByLabel('Stream idle timeout (seconds)');
    const held = form.getByLabel('Held stream timeout (seconds)');
    expect(await idle.inputValue()).toBe('300');
    expect(await held.inputValue()).toBe('570');
    await idle.fill('0.5');
    await form.getByText('between 1 second and 3600 seconds (1 hour)').waitFor();
    await held.fill('3601');
    expect(await form.getByText('between 1 second and 3600 seconds (1 hour)').count()).toBe(2);
    expect(await form.getByRole('button', { name: 'Save provider settings' }).isDisabled()).toBe(true);
    await idle.fill('90');
    await held.fill('570');
    expect(await saveAndCapture()).toEqual({ streamIdleTimeoutMs: 90_000 });
    expect(await settings()).toMatchObject({
      streamIdleTimeoutMs: 90_000,
      heldStreamTimeoutMs: 570_000,
      allowedModels: ['fake-claude*', 'fake-embed'],
      sharedProviderObjects: true,
    });
    // Back from the API on reload, in seconds.
    await page.reload();
    expect(await card(page).getByLabel('Stream idle timeout (seconds)').inputValue()).toBe('90');
    expect(owner.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  }, 120_000);

  it('an auditor sees the saved values read-only, with no Save', async () => {
    const auditor = await signedInBrowser(await auditorKey());
    try {
      const p = auditor.page;
      await p.goto(`${gatewayUrl()}/connections/${slug}`);
      const form = card(p);
      await form.getByText('Shared between callers', { exact: true }).waitFor();
      const models = form.getByLabel('Allowed models (one glob per line)');
      expect(await models.inputValue()).toBe('fake-claude*\nfake-embed');
      expect(await models.isDisabled()).toBe(true);
      const toggle = form.getByRole('switch', { name: /Share Assistants, threads/ });
      expect(await toggle.isChecked()).toBe(true);
      expect(await toggle.isDisabled()).toBe(true);
      expect(await form.getByLabel('Stream idle timeout (seconds)').isDisabled()).toBe(true);
      expect(await form.getByRole('button', { name: 'Save provider settings' }).count()).toBe(0);
      await form.getByText('Only owners, admins and the connection').waitFor();
    } finally {
      await auditor.close();
    }
  }, 120_000);
});
