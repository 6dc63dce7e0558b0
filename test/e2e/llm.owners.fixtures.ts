import { addMemberInD1, adminOrgId } from './helpers';
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
  return addMemberInD1(await adminOrgId(), 'admin', 'e2e person');
}

/** What the provider received naming `id`, in a path or a body. */
export function requestsNaming(fake: FakeProvider, id: string): string[] {
  return fake.requests
    .filter((r) => r.path.includes(id) || JSON.stringify(r.body ?? null).includes(id))
    .map((r) => `${r.method} ${r.path}`);
}
