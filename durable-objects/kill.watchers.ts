/**
 * The watches a ConnectionGuard holds for open SSE answers (workers/killswitch/killswitch.stream.ts):
 * each is a pending `watchKill` RPC that resolves with the notice of a matching kill switch as soon
 * as one is held, with a ConfigNotice as soon as the guard learns a configuration epoch newer than
 * the one the stream was decided on (the gateway then re-validates the stream's key, connection and
 * member), or with null when withdrawn (the stream ended) or after WATCH_TTL_MS (the gateway renews
 * it while its stream is open). Memory only: a restarted guard has none, and the gateway's watch
 * fails and is made again.
 */
import type { KillNotice, WatchNotice } from './guard.contract';
import { type GuardIdentity, type KillCaller, type KillRecord, killApplies } from './kill.match';

/** A watch resolves with null after this long (the gateway renews it while its stream is open). */
export const WATCH_TTL_MS = 60_000;

interface Watcher {
  caller: KillCaller;
  /** The epoch its stream was decided on; undefined: the gateway asked for kill switches only. */
  configEpoch: number | undefined;
  settle(notice: WatchNotice | null): void;
}

export function killNotice(kill: KillRecord): KillNotice {
  return { killSwitchId: kill.id, scope: kill.scope, reason: kill.reason };
}

export class KillWatchers {
  readonly #watchers = new Map<string, Watcher>();

  get size(): number {
    return this.#watchers.size;
  }

  /** Waits for a switch that applies to `caller` (or a newer epoch); the same id made again replaces the old watch. */
  wait(watchId: string, caller: KillCaller, configEpoch?: number): Promise<WatchNotice | null> {
    return new Promise<WatchNotice | null>((resolve) => {
      const timer = setTimeout(() => settle(null), WATCH_TTL_MS);
      const settle = (notice: WatchNotice | null) => {
        clearTimeout(timer);
        this.#watchers.delete(watchId);
        resolve(notice);
      };
      this.#watchers.get(watchId)?.settle(null);
      this.#watchers.set(watchId, { caller, configEpoch, settle });
    });
  }

  /** Withdraws a watch (its stream ended). Unknown ids are fine: it may have just resolved. */
  withdraw(watchId: string): void {
    this.#watchers.get(watchId)?.settle(null);
  }

  /** A switch is now held: every watch it applies to resolves with its notice. */
  held(kill: KillRecord, identity: GuardIdentity): void {
    for (const watcher of [...this.#watchers.values()]) {
      if (killApplies(kill, identity, watcher.caller)) watcher.settle(killNotice(kill));
    }
  }

  /**
   * The guard knows configuration epoch `epoch`: every watch decided on an older one resolves, so
   * its stream is re-validated (a revoked key, a disabled connection, a removed member end it).
   */
  epochMoved(epoch: number): void {
    for (const watcher of [...this.#watchers.values()]) {
      if (watcher.configEpoch !== undefined && watcher.configEpoch < epoch) {
        watcher.settle({ configEpoch: epoch });
      }
    }
  }
}
