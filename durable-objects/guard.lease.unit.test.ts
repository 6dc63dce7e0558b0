import { describe, expect, it } from 'vitest';
import { LEASE_MARGIN_MS, LEASE_MS, leaseEnd, renewalDue, trustedUntil } from './guard.lease';
import { WATCH_TTL_MS } from './kill.watchers';

describe('guard lease', () => {
  it('the guard trusts its epoch for less than the lease it wrote (the clocks margin)', () => {
    const sentAt = 1_000_000;
    expect(trustedUntil(sentAt)).toBe(leaseEnd(sentAt) - LEASE_MARGIN_MS);
    expect(trustedUntil(sentAt)).toBeGreaterThan(sentAt);
  });

  it('renewal is due once half of the lease is gone, never before', () => {
    const trusted = trustedUntil(0);
    expect(renewalDue(trusted, 0)).toBe(false);
    expect(renewalDue(trusted, trusted - LEASE_MS / 2 - 1)).toBe(false);
    expect(renewalDue(trusted, trusted - LEASE_MS / 2 + 1)).toBe(true);
    expect(renewalDue(0, 5)).toBe(true); // no lease yet
  });

  it('a watch renewed every minute never lets a lease lapse (WATCH_TTL_MS < LEASE_MS / 2 - margin)', () => {
    expect(WATCH_TTL_MS).toBeLessThan(LEASE_MS / 2 - LEASE_MARGIN_MS);
  });
});
