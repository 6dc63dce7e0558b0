/**
 * The per-organization configuration cache (orgConfigCache: governance snapshots, custom detection
 * rules, price overrides) is bounded by bytes, not only by 10,000 organizations: nothing bounds
 * how many teams, prompt assignments (20,000 characters each) or detection rules one organization
 * holds, and anyone may create organizations.
 */
import { describe, expect, it } from 'vitest';
import { jsonWeight, ORG_CONFIG_CACHE_BYTES, orgConfigCache } from './config.known';

const env = { DB: null, POLICY_CACHE_TTL_MS: '600000' };

/** A snapshot like governance's: a Map of teams and prompt assignments of `chars` characters. */
function heavySnapshot(orgId: string, chars: number) {
  return {
    orgName: orgId,
    teams: new Map([[`team_${orgId}`, { id: `team_${orgId}`, name: 'x'.repeat(chars / 2) }]]),
    assignments: [{ text: 'y'.repeat(chars / 2) }],
  };
}

describe('orgConfigCache is bounded by bytes', () => {
  it('weighs Maps by their entries', () => {
    expect(jsonWeight(heavySnapshot('org', 100_000))).toBeGreaterThan(200_000);
  });

  it('50 organizations of 200,000-character snapshots: the oldest are read again', async () => {
    const reads: string[] = [];
    const cache = orgConfigCache(async (_db: null, orgId: string) => {
      reads.push(orgId);
      return heavySnapshot(orgId, 200_000);
    });
    const orgs = Array.from({ length: 50 }, (_, i) => `org_${i}`);
    for (const org of orgs) await cache.get(env, org);
    expect(reads).toHaveLength(50);
    expect(cache.weight).toBeLessThanOrEqual(ORG_CONFIG_CACHE_BYTES);
    // The newest is kept; the first (50 ≪ 10,000 organizations) was dropped for its bytes.
    await cache.get(env, 'org_49');
    expect(reads).toHaveLength(50);
    await cache.get(env, 'org_0');
    expect(reads).toHaveLength(51);
  });

  it('keeps sharing one read while it is under way, and forgets a failed one', async () => {
    let reads = 0;
    let fail = true;
    const cache = orgConfigCache(async (_db: null, _orgId: string) => {
      reads += 1;
      if (fail) throw new Error('D1 down');
      return { small: true };
    });
    const [a, b] = [cache.get(env, 'org'), cache.get(env, 'org')];
    expect(a).toBe(b);
    await expect(a).rejects.toThrow('D1 down');
    fail = false;
    await expect(cache.get(env, 'org')).resolves.toEqual({ small: true });
    await cache.get(env, 'org');
    expect(reads).toBe(2);
  });
});
