/**
 * A guard's lease on the configuration epoch: which guards a management change must reach.
 *
 * A management change pushes the organization's new epoch to the guards that may hold an older one
 * in memory, before the API answers (workers/config/config.epoch.ts). Pushing to every connection
 * of the organization made an admin action cost one guard round trip per connection, idle or not
 * (seconds at 1,000 connections). A guard not in memory needs no push — it reads the epoch from D1
 * when it starts — so the push goes to the guards holding a lease: `connections.guard_lease_until`,
 * written by the guard in the same D1 batch (one transaction) as the state read that gives it its
 * epoch. D1 serializes the two sides: a change bumps the epoch and then lists the leases, so a guard
 * whose read came before the bump is listed, and one whose read came after it read the new epoch.
 *
 * The guard trusts the epoch it holds only while its own lease lasts (less a margin for clocks:
 * the lease is written with the guard's clock and compared with the API's). When it has lapsed —
 * the guard sat idle, in memory, longer than LEASE_MS — its next admit or watch re-reads its state
 * (and takes a new lease) before deciding, as a cold start does. A guard that keeps deciding calls
 * renews the lease in its background re-read (RESYNC_MS) once half of it is gone: a D1 write every
 * ~LEASE_MS / 2 per active guard, never on the call's path.
 *
 * Kill switches are pushed the same way, to the leased guards only (workers/killswitch/killswitch.push.ts
 * says why that keeps their guarantee): the lapsed guard's re-read reads the switches with the
 * epoch. Both pushes list the leases with do.client.ts `leasedGuards`.
 */

/** How long a lease written now lasts. */
export const LEASE_MS = 5 * 60_000;
/** What the guard takes off its lease: the API's clock may run this far ahead of the guard's. */
export const LEASE_MARGIN_MS = 30_000;

/** The lease to write for a state read sent at `sentAt` (the guard's clock). */
export function leaseEnd(sentAt: number): number {
  return sentAt + LEASE_MS;
}

/** Until when the guard may trust the epoch its read sent at `sentAt` gave it. */
export function trustedUntil(sentAt: number): number {
  return sentAt + LEASE_MS - LEASE_MARGIN_MS;
}

/** Whether the background re-read should renew the lease (half of it is gone). */
export function renewalDue(trusted: number, now: number): boolean {
  return trusted - now < LEASE_MS / 2;
}
