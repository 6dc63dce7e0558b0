/**
 * System prompt version retention (workers/prompts/prompts.retention.ts), through the real Worker
 * and D1: past the newest PROMPT_VERSIONS_KEPT versions, an edit empties the text of the version
 * that left the window in its own batch and keeps its tombstone (version, SHA-256, author, time);
 * the prompt still answers (the current text, and the newest versions listed by hash), and another
 * prompt is untouched. Tombstones are bounded too: past the newest PROMPT_TOMBSTONES_KEPT of a
 * prompt they are deleted (nothing reads one old version, so nothing answers for them).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../workers/lib/hex';
import { PROMPT_TOMBSTONES_KEPT, PROMPT_VERSIONS_KEPT } from '../../workers/prompts/prompts.retention';
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

  it('keeps the rows of a prompt bounded however many edits are made', async () => {
    const org = await createOrg('owner');
    const create = (key: string, name: string) =>
      call('POST', '/api/v1/system-prompts', { key, body: { name, text: 'Be brief.' } });
    const prompt = await expectJson<Prompt>(await create(org.key, 'bounded'), 201);
    const other = await createOrg('owner');
    const theirs = await expectJson<Prompt>(await create(other.key, 'bounded'), 201);
    // As edits so far left them: PROMPT_TOMBSTONES_KEPT tombstones, then PROMPT_VERSIONS_KEPT - 1 with text.
    const tombstone = (orgId: string, promptId: string, upTo: number) =>
      env.DB.prepare(
        "UPDATE system_prompt_versions SET text = '' WHERE org_id = ? AND prompt_id = ? AND version <= ?",
      )
        .bind(orgId, promptId, upTo)
        .run();
    await seedVersions(org.orgId, prompt.id, PROMPT_TOMBSTONES_KEPT + PROMPT_VERSIONS_KEPT - 1);
    await tombstone(org.orgId, prompt.id, PROMPT_TOMBSTONES_KEPT);
    // The other organization's prompt: 5 tombstones and its versions with text, left alone.
    await seedVersions(other.orgId, theirs.id, PROMPT_VERSIONS_KEPT + 5);
    await tombstone(other.orgId, theirs.id, 5);

    const edits = 51;
    let last = prompt;
    for (let i = 0; i < edits; i++) {
      last = await expectJson<Prompt>(
        await call('PATCH', `/api/v1/system-prompts/${prompt.id}`, {
          key: org.key,
          body: { text: `Edit ${i}.` },
        }),
        200,
      );
    }
    const rows = async (promptId: string) =>
      (await env.DB.prepare(
        "SELECT count(*) AS n, sum(text = '') AS pruned, min(version) AS oldest FROM system_prompt_versions WHERE prompt_id = ?",
      )
        .bind(promptId)
        .first<{ n: number; pruned: number; oldest: number }>())!;
    // Not one row per version ever written (PROMPT_TOMBSTONES_KEPT + PROMPT_VERSIONS_KEPT - 1 + edits of them).
    expect(await rows(prompt.id)).toEqual({
      n: PROMPT_VERSIONS_KEPT + PROMPT_TOMBSTONES_KEPT,
      pruned: PROMPT_TOMBSTONES_KEPT,
      oldest: last.version - PROMPT_VERSIONS_KEPT - PROMPT_TOMBSTONES_KEPT + 1,
    });
    expect(await versionRow(prompt.id, last.version - PROMPT_VERSIONS_KEPT + 1)).toMatchObject({
      text: `Seeded text ${last.version - PROMPT_VERSIONS_KEPT + 1}`,
    });

    // The prompt still answers: its current text's hash, its newest versions.
    const read = await expectJson<Prompt>(
      await call('GET', `/api/v1/system-prompts/${prompt.id}`, { key: org.key }),
      200,
    );
    expect(read.sha256).toBe(await sha256Hex(`Edit ${edits - 1}.`));
    expect(read.versions).toHaveLength(PROMPT_VERSIONS_KEPT);
    expect(read.versions[0]!.version).toBe(last.version);
    // The other organization's prompt: every row where it was.
    expect(await rows(theirs.id)).toEqual({ n: PROMPT_VERSIONS_KEPT + 5, pruned: 5, oldest: 1 });
  });
});
