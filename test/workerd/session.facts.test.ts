/**
 * The organization's session-facts store takes what guards record (issue 22) with plain bound
 * checks instead of a schema parse per record (issue 20): facts within the bounds are kept, and a
 * record out of bounds is refused whole, as the schema refused it.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sessionFactsFor } from '../../durable-objects/do.client';
import type { SessionFacts } from '../../durable-objects/session-facts.do';
import { randomId } from '../../workers/lib/ids';

describe('SessionFacts.record', () => {
  it('keeps facts within the bounds', async () => {
    const store = sessionFactsFor(env, randomId('org'), randomId('ses'));
    await store.record({ labels: ['pii', 'untrusted'], called: ['read_file', 'x'.repeat(512)] });
    const facts = await store.facts();
    expect([...facts.labels].sort()).toEqual(['pii', 'untrusted']);
    expect([...facts.called].sort()).toEqual(['read_file', 'x'.repeat(512)].sort());
  });

  it('refuses a record out of bounds, whole', async () => {
    const store = sessionFactsFor(env, randomId('org'), randomId('ses'));
    const refused = [
      { labels: ['ok', ''], called: [] },
      { labels: ['l'.repeat(65)], called: [] },
      { labels: [], called: ['c'.repeat(513)] },
      { labels: Array.from({ length: 201 }, (_, i) => `l${i}`), called: [] },
      { labels: [7], called: [] },
      { labels: 'pii', called: [] },
      { labels: [] },
    ];
    // Inside the object (a refusal crossing the RPC boundary is also logged by the runtime).
    await runInDurableObject(store, async (instance: SessionFacts) => {
      for (const facts of refused) {
        await expect(instance.record(facts as never)).rejects.toThrow(/session facts/);
      }
    });
    expect(await store.facts()).toEqual({ labels: [], called: [] });
  });
});
