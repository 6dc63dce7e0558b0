/**
 * The kill-switch watches a ConnectionGuard holds for open SSE answers
 * (workers/killswitch/killswitch.stream.ts): each is a pending `watchKill` RPC that resolves with
 * the notice of a matching switch as soon as one is held, or with null when withdrawn (the stream
 * ended) or after WATCH_TTL_MS (the gateway renews it while its stream is open). Memory only: a
 * restarted guard has none, and the gateway's watch fails and is made again.
 */
import type { KillNotice } from './guard.contract';
import { type GuardIdentity, type KillCaller, type KillRecord, killApplies } from './kill.match';

/** A watch resolves with null after this long (the gateway renews it while its stream is open). */
export const WATCH_TTL_MS = 60_000;

interface Watcher {
  caller: KillCaller;
  settle(kill: KillRecord | null): void;
}

export function killNotice(kill: KillRecord): KillNotice {
  return { killSwitchId: kill.id, scope: kill.scope, reason: kill.reason };
}

export class KillWatchers {
  readonly #watchers = new Map<string, Watcher>();

  get size(): number {
    return this.#watchers.size;
  }

  /** Waits for a switch that applies to `caller`; a watch made again under the same id replaces the old one. */
  wait(watchId: string, caller: KillCaller): Promise<KillNotice | null> {
    return new Promise<KillNotice | null>((resolve) => {
      const timer = setTimeout(() => settle(null), WATCH_TTL_MS);
      const settle = (kill: KillRecord | null) => {
        clearTimeout(timer);
        this.#watchers.delete(watchId);
        resolve(kill ? killNotice(kill) : null);
      };
      this.#watchers.get(watchId)?.settle(null);
      this.#watchers.set(watchId, { caller, settle });
    });
  }

  /** Withdraws a watch (its stream ended). Unknown ids are fine: it may have just resolved. */
  withdraw(watchId: string): void {
    this.#watchers.get(watchId)?.settle(null);
  }

  /** A switch is now held: every watch it applies to resolves with its notice. */
  held(kill: KillRecord, identity: GuardIdentity): void {
    for (const watcher of [...this.#watchers.values()]) {
      if (killApplies(kill, identity, watcher.caller)) watcher.settle(kill);
    }
  }
}
