/**
 * System prompt version retention (workers/prompts/prompts.retention.ts), through the real Worker
 * and D1: past the newest PROMPT_VERSIONS_KEPT versions, an edit empties the text of the version
 * that left the window in its own batch and keeps its tombstone (version, SHA-256, author, time);
 * the prompt still answers (the current text, and the newest versions listed by hash), and another
 * prompt is untouched.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../workers/lib/hex';
import { PROMPT_VERSIONS_KEPT } from '../../workers/prompts/prompts.retention';
import { call, createOrg, expectJson } from './helpers';

interface Prompt {
  id: string;
  version: number;
  sha256: string;
  versions: { version: number; sha256: string }[];
}

/** Versions 2…n of a prompt as earlier edits would have stored them, and the prompt at version n. */
async function seedVersions(orgId: string, promptId: string, n: number) {
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO system_prompt_versions (prompt_id, org_id, version, text, text_hash, created_by, created_at)
       WITH RECURSIVE seq(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
       SELECT ?2, ?3, i, 'Seeded text ' || i, 'seed-hash-' || i, 'seed-author', 1700000000000 + i FROM seq`,
    ).bind(n, promptId, orgId),
    env.DB.prepare('UPDATE system_prompts SET version = ? WHERE id = ?').bind(n, promptId),
  ]);
}

const versionRow = (promptId: string, v: number) =>
  env.DB.prepare(
    'SELECT text, text_hash, created_by FROM system_prompt_versions WHERE prompt_id = ? AND version = ?',
  )
    .bind(promptId, v)
    .first<{ text: string; text_hash: string; created_by: string }>();

describe('system prompt version retention', () => {
  it('empties the text of the version leaving the newest kept, keeping its hash, author and time', async () => {
    const org = await createOrg('owner');
    const create = (name: string) =>
      call('POST', '/api/v1/system-prompts', { key: org.key, body: { name, text: 'Be brief.' } });
    const prompt = await expectJson<Prompt>(await create('retained'), 201);
    const other = await expectJson<Prompt>(await create('untouched'), 201);
    await seedVersions(org.orgId, prompt.id, PROMPT_VERSIONS_KEPT);
    const firstHash = await sha256Hex('Be brief.');

    const edit = (text: string) =>
      call('PATCH', `/api/v1/system-prompts/${prompt.id}`, { key: org.key, body: { text } });
    const edited = await expectJson<Prompt>(await edit('Be briefer.'), 200);
    expect(edited.version).toBe(PROMPT_VERSIONS_KEPT + 1);
    expect(edited.sha256).toBe(await sha256Hex('Be briefer.'));

    // Version 1 left the window: its text is gone, its tombstone stays; version 2 is intact.
    expect(await versionRow(prompt.id, 1)).toMatchObject({ text: '', text_hash: firstHash });
    expect(await versionRow(prompt.id, 2)).toMatchObject({ text: 'Seeded text 2', text_hash: 'seed-hash-2' });
    // Another prompt's first version is untouched.
    expect(await versionRow(other.id, 1)).toMatchObject({ text: 'Be brief.', text_hash: firstHash });

    // The prompt lists its newest versions by hash, newest first.
    const read = await expectJson<Prompt>(
      await call('GET', `/api/v1/system-prompts/${prompt.id}`, { key: org.key }),
      200,
    );
    expect(read.versions).toHaveLength(PROMPT_VERSIONS_KEPT);
    expect(read.versions[0]).toMatchObject({ version: PROMPT_VERSIONS_KEPT + 1, sha256: edited.sha256 });
  });
});
