/**
 * What a ConnectionGuard knows from D1, and until when it may trust it (connection-guard.do.ts says
 * where each piece of its state comes from): the first load of a cold object, the reload of a guard
 * whose lease lapsed (guard.lease.ts), the safety-net re-read every RESYNC_MS that also renews the
 * lease, and the configuration epoch, which only grows. The read itself is guard.state.ts; the kill
 * switches it loads are held by kill.held.ts, shared with the guard.
 *
 * The guard calls these directly on its admit path (the methods moved here from the guard, one call
 * each as before; the epoch is a plain field).
 */
import { log } from '../workers/lib/log';
import type { AnomalySettings } from './anomaly.detect';
import { agentSessionId, type GuardTarget, guardName } from './guard.contract';
import { leaseEnd, renewalDue, trustedUntil } from './guard.lease';
import { type GuardD1State, readGuardState } from './guard.state';
import type { HeldKills } from './kill.held';
import type { GuardIdentity } from './kill.match';

/** How often a warm guard re-reads its kill switches and settings from D1 (safety net for pushes). */
export const RESYNC_MS = 30_000;

export class GuardSync {
  identity: GuardIdentity | null = null;
  /** The organization's configuration epoch (pushed, read from D1, or carried by an admit): only grows, through learnEpoch. */
  configEpoch = 0;
  #loading: Promise<void> | null = null;
  #syncedAt = 0;
  #syncing = false;
  /** Until when pushes are sure to reach this guard, so configEpoch may be trusted (guard.lease.ts). */
  #trustedUntil = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly db: D1Database,
    private readonly kills: HeldKills,
    /** Where the connection's anomaly settings go (the guard's observer). */
    private readonly settings: (anomaly: AnomalySettings) => void,
  ) {}

  /**
   * Makes sure the kill switches and settings are loaded. The first call of a cold object loads
   * them inside blockConcurrencyWhile (nothing else runs meanwhile); a failure leaves the object
   * unloaded, so this call fails (the gateway then applies the connection's fail mode) and the
   * next one tries again. `leased` (admit, watch: they trust the epoch): a guard whose lease lapsed
   * — idle in memory past LEASE_MS, so changes since were not pushed to it — loads again the same
   * way, taking a new lease, before it decides anything (guard.lease.ts).
   */
  async ready(target: GuardTarget, leased = false): Promise<GuardIdentity> {
    // Checked before any read too: a lease is only ever written on this guard's own connection row.
    if (this.identity) checkIdentity(this.identity, target);
    if (!this.identity || (leased && Date.now() >= this.#trustedUntil)) {
      this.#loading ??= this.ctx
        .blockConcurrencyWhile(async () => {
          if (this.identity && Date.now() < this.#trustedUntil) return; // loaded meanwhile
          this.checkName(target);
          const sentAt = Date.now();
          const state = await readGuardState(this.db, target, leaseEnd(sentAt), this.kills.pushedIds());
          this.#trustedUntil = trustedUntil(sentAt);
          const first = !this.identity;
          // Named fields, not the target spread: an admit's target carries the call's audit rows.
          const { orgId, connectionId } = target;
          this.identity ??= { orgId, connectionId, sessionId: agentSessionId(connectionId) };
          this.#apply(state, this.identity);
          if (first) this.kills.loaded(this.identity, Date.now(), state.lifted);
        })
        .finally(() => {
          this.#loading = null;
        });
      await this.#loading;
    }
    return checkIdentity(this.identity!, target);
  }

  checkName(target: GuardTarget): void {
    const name = this.ctx.id.name;
    if (name !== undefined && name !== guardName(target.orgId, target.connectionId)) {
      throw new Error('guard addressed with the identity of another connection');
    }
  }

  /** Only grows; streams decided on an older epoch are woken to be re-validated by their gateway. */
  learnEpoch(epoch: number): void {
    if (epoch <= this.configEpoch) return;
    this.configEpoch = epoch;
    this.kills.watchers.epochMoved(epoch);
  }

  /**
   * The safety-net re-read; never on the hot path (not awaited), and dropped if a push raced it.
   * It renews the lease once half of it is gone (guard.lease.ts); `leaseOnly`: only when that is due.
   */
  maybeResync(now: number, leaseOnly = false): void {
    if (this.#syncing || !this.identity) return;
    const renew = renewalDue(this.#trustedUntil, now);
    if (leaseOnly ? !renew : now - this.#syncedAt < RESYNC_MS) return;
    this.#syncing = true;
    const identity = this.identity;
    const epoch = this.kills.epoch;
    this.ctx.waitUntil(
      readGuardState(this.db, identity, renew ? leaseEnd(now) : undefined, this.kills.pushedIds())
        .then((state) => {
          if (renew) this.#trustedUntil = Math.max(this.#trustedUntil, trustedUntil(now));
          // The epoch read with the lease is kept whatever else is dropped: it only grows.
          if (epoch === this.kills.epoch) this.#apply(state, identity);
          else this.learnEpoch(state.configEpoch);
        })
        .catch((err: unknown) => log('warn', 'guard resync failed; keeping current state', { err }))
        .finally(() => {
          this.#syncing = false;
        }),
    );
  }

  /** Takes what was read from D1; the kill switches it holds for the first time wake their watches. */
  #apply(state: GuardD1State, identity: GuardIdentity): void {
    this.kills.replace(state.kills, identity, Date.now(), state.lifted);
    this.settings(state.anomaly);
    this.learnEpoch(state.configEpoch);
    this.#syncedAt = Date.now();
  }
}

function checkIdentity(identity: GuardIdentity, { orgId, connectionId }: GuardTarget): GuardIdentity {
  if (identity.orgId === orgId && identity.connectionId === connectionId) return identity;
  throw new Error('guard addressed with the identity of another connection');
}
