/**
 * A developer sees edit and delete only on what they may change (real headless Chromium, the
 * shared stack): in an organization where the owner and a developer each made a custom detection
 * rule, pack and system prompt, the developer signed in to the dashboard finds Edit and Delete on
 * their own rule and pack and none on the owner's, and the owner's system prompt read-only while
 * their own can be saved. The buttons follow the API's `canEdit` (the same code as the change).
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, signedInBrowser } from './browser';
import { addMemberInD1, api, createOrgInD1 } from './helpers';

const run = randomBytes(4).toString('hex');
const RULE = { owner: `custom.owner_${run}`, dev: `custom.dev_${run}` };
const PACK = { owner: `owner-pack-${run}`, dev: `dev-pack-${run}` };
const PROMPT = { owner: `Owner prompt ${run}`, dev: `Developer prompt ${run}` };

let browser: Browser;
let page: Page;

/** A developer member of `orgId` with an API key of their own, inserted into the local D1. */
async function developerIn(orgId: string): Promise<string> {
  return addMemberInD1(orgId, 'developer', 'e2e dev');
}

const rule = (id: string) => ({
  id,
  category: 'secret',
  severity: 'low',
  where: ['args'],
  detection: { literals: ['RIGHTS-'], pattern: 'RIGHTS-\\d{4}' },
  action: 'log',
  description: 'Edit rights in the dashboard',
  examples: { positive: ['see RIGHTS-1234'], negative: ['nothing'] },
});

async function created(res: Promise<{ status: number; body: unknown }>): Promise<void> {
  const { status, body } = await res;
  if (status !== 201) throw new Error(`expected 201, got ${status}: ${JSON.stringify(body)}`);
}

describe('edit and delete follow canEdit for a developer (real Chromium)', () => {
  beforeAll(async () => {
    const org = await createOrgInD1('rights');
    const devKey = await developerIn(org.orgId);
    for (const [key, who] of [
      [org.key, 'owner'],
      [devKey, 'dev'],
    ] as const) {
      await created(api('POST', '/detections/rules', rule(RULE[who]), key));
      await created(
        api('POST', '/detections/packs', { name: PACK[who], description: 'x', rules: [RULE[who]] }, key),
      );
      await created(api('POST', '/system-prompts', { name: PROMPT[who], text: 'Be careful.' }, key));
    }
    browser = await signedInBrowser(devKey);
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('Detections: Edit and Delete on the developer’s own rule and pack, none on the owner’s', async () => {
    await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Detections' }).click();
    await page.getByRole('heading', { level: 1, name: 'Detections' }).waitFor();
    const rules = page.getByRole('table', { name: 'Detection rules' });
    await rules.getByRole('button', { name: `Edit ${RULE.dev}` }).waitFor();
    await rules.getByRole('button', { name: `Delete ${RULE.dev}` }).waitFor();
    const ownerRow = page.getByTestId('rule-row').filter({ hasText: RULE.owner });
    await ownerRow.waitFor();
    expect(await ownerRow.getByRole('button').count()).toBe(0);

    const packs = page.getByRole('table', { name: 'Detection packs' });
    await packs.getByRole('button', { name: `Edit ${PACK.dev}` }).waitFor();
    await packs.getByRole('button', { name: `Delete ${PACK.dev}` }).waitFor();
    const ownerPack = page.getByTestId('pack-row').filter({ hasText: PACK.owner });
    await ownerPack.waitFor();
    expect(await ownerPack.getByRole('button').count()).toBe(0);
  });

  it('System prompts: the owner’s is read-only, the developer’s own can be saved', async () => {
    await page
      .getByRole('navigation', { name: 'Primary' })
      .getByRole('link', { name: 'System prompts' })
      .click();
    await page.getByRole('heading', { level: 1, name: 'System prompts' }).waitFor();
    const list = page.getByRole('navigation', { name: 'System prompts' });

    await list.getByRole('button', { name: PROMPT.owner }).click();
    await page.getByRole('heading', { level: 2, name: PROMPT.owner }).waitFor();
    await page.getByTestId('prompt-read-only').waitFor();
    expect(await page.getByLabel('Text').getAttribute('readonly')).not.toBeNull();
    expect(await page.getByRole('button', { name: /^Save as version/ }).count()).toBe(0);

    await list.getByRole('button', { name: PROMPT.dev }).click();
    await page.getByRole('heading', { level: 2, name: PROMPT.dev }).waitFor();
    await page.getByRole('button', { name: 'Save as version 2' }).waitFor();
    expect(await page.getByTestId('prompt-read-only').count()).toBe(0);
    expect(await page.getByLabel('Text').getAttribute('readonly')).toBeNull();
    expect(browser.errors).toEqual([]);
  });
});
