/**
 * Shared by the stored-object ownership e2e tests (llm.responses-owners, llm.objects-owners): an LLM
 * connection on the local fake provider with passthrough allowed, a second person of the admin
 * key's organization with a key of their own, and what the provider received naming an id.
 */
import { createHash, randomBytes } from 'node:crypto';
import { adminKey, d1Local } from './helpers';
import type { FakeProvider } from './llm.fake-provider.ts';
import { createLlmConnection } from './llm.fixtures.ts';

/**
 * An `openai-compatible` connection `slug` of `key`'s organization on the fake provider, every call
 * allowed — passthrough too: retrieve, list, delete and cancel reach the provider by path.
 */
export async function connectOwnersLlm(
  fakeUrl: string,
  slug: string,
  key: string,
  providerKey: string,
  provider: 'openai-compatible' | 'anthropic' = 'openai-compatible',
) {
  await createLlmConnection(slug, {
    upstreamUrl: `${fakeUrl}/v1`,
    credential: providerKey,
    settings: { provider },
    key,
  });
}

/** A second member (an admin: may use every connection) of the admin key's organization, with a key. */
export async function addPerson(): Promise<string> {
  const adminHash = createHash('sha256').update(adminKey()).digest('hex');
  const [row] = await d1Local<{ org_id: string }>(`SELECT org_id FROM api_keys WHERE hash = '${adminHash}'`);
  const id = (prefix: string) => `${prefix}_e2e${randomBytes(8).toString('hex')}`;
  const userId = id('usr');
  const key = `ig_${randomBytes(32).toString('base64url')}`;
  const hash = createHash('sha256').update(key).digest('hex');
  await d1Local(
    [
      `INSERT INTO users (id, email) VALUES ('${userId}', '${userId}@e2e.local')`,
      `INSERT INTO members (id, org_id, user_id, role) VALUES ('${id('mem')}', '${row!.org_id}', '${userId}', 'admin')`,
      `INSERT INTO api_keys (id, org_id, created_by, name, role, prefix, hash) VALUES ('${id('key')}', '${row!.org_id}', '${userId}', 'e2e person', 'admin', '${key.slice(0, 10)}', '${hash}')`,
    ].join('; '),
  );
  return key;
}

/** What the provider received naming `id`, in a path or a body. */
export function requestsNaming(fake: FakeProvider, id: string): string[] {
  return fake.requests
    .filter((r) => r.path.includes(id) || JSON.stringify(r.body ?? null).includes(id))
    .map((r) => `${r.method} ${r.path}`);
}
