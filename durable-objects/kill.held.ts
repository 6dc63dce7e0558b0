/**
 * The kill switches one ConnectionGuard holds, in memory (why memory, and where they come from:
 * connection-guard.do.ts). A switch is held only if it concerns the guard (kill.match.ts), and
 * holding one for the first time wakes the watches it matches (kill.watchers.ts). Pushes that
 * arrive before the guard's first load are kept for that load (`pushedBeforeLoad`), and every
 * push bumps `epoch`, so a D1 re-read that started before a push cannot undo it.
 *
 * A re-read that starts *after* a push can still miss its switch: an organization-wide switch is
 * pushed while its record is being written (killswitch.service.ts), and a guard may re-read in
 * that window (its lease lapsed, or the safety-net resync). So a pushed switch is held for
 * PUSH_TRUST_MS whatever D1 says; only a lift, or D1 still not listing it after that, drops it.
 * The direction is fail-closed: a switch whose record failed refuses calls a little longer.
 *
 * "A lift" includes one the guard reads: a lift is pushed only to the guards holding a lease
 * (workers/killswitch/killswitch.push.ts), and a guard may hold a push while its lease lapses. So its
 * re-read asks D1 which of the switches it holds that way (`pushedIds`) are lifted, and a lifted
 * one is dropped at once — not held PUSH_TRUST_MS after a lift answered. (A record not written yet
 * is not lifted: the trust window still covers it.)
 */
import {
  concernsGuard,
  type GuardIdentity,
  holdsWholeSession,
  type KillCaller,
  type KillRecord,
  matchingKill,
} from './kill.match';
import { KillWatchers } from './kill.watchers';

/** How long a pushed switch is held even if a D1 read does not list it (its record is being written). */
export const PUSH_TRUST_MS = 60_000;

export class HeldKills {
  #kills = new Map<string, KillRecord>();
  /** When each switch still in its trust window was pushed. */
  readonly #pushedAt = new Map<string, number>();
  readonly watchers = new KillWatchers();
  /** Bumped by every push. */
  epoch = 0;
  /** Switches pushed before the first load (a cold guard does not read D1 for a push): held at the load. */
  readonly pushedBeforeLoad = new Map<string, KillRecord>();

  /** The switches held from a push whatever D1 says (trust window, or kept for the first load). */
  pushedIds(): string[] {
    return [...this.#pushedAt.keys(), ...this.pushedBeforeLoad.keys()];
  }

  /** The held switch that refuses this caller's calls, if any. */
  matching(identity: GuardIdentity, caller: KillCaller): KillRecord | null {
    return matchingKill(this.#kills.values(), identity, caller);
  }

  /** The held switches that refuse every call of the guard's session. */
  holdingSession(identity: GuardIdentity): KillRecord[] {
    return [...this.#kills.values()].filter((k) => holdsWholeSession(k, identity));
  }

  push(kill: KillRecord, identity: GuardIdentity, now = Date.now()): void {
    this.epoch++;
    this.#pushedAt.set(kill.id, now);
    this.hold(kill, identity);
  }

  lift(killSwitchId: string): void {
    this.epoch++;
    this.#pushedAt.delete(killSwitchId);
    this.#kills.delete(killSwitchId);
  }

  /** The first load happened: what was pushed before it is held on top of what it read, unless lifted. */
  loaded(identity: GuardIdentity, now = Date.now(), lifted: readonly string[] = []): void {
    for (const kill of this.pushedBeforeLoad.values()) {
      if (lifted.includes(kill.id)) continue;
      this.#pushedAt.set(kill.id, now);
      this.hold(kill, identity);
    }
    this.pushedBeforeLoad.clear();
  }

  /**
   * Takes the switches read from D1; those held for the first time wake their watches. A switch
   * pushed less than PUSH_TRUST_MS ago stays held even if the read does not list it — unless the
   * read says it is lifted (`lifted`: the ids of pushedIds() that D1 lists as lifted).
   */
  replace(
    kills: readonly KillRecord[],
    identity: GuardIdentity,
    now = Date.now(),
    lifted: readonly string[] = [],
  ): void {
    const previous = this.#kills;
    this.#kills = new Map();
    for (const kill of kills) {
      if (previous.has(kill.id)) this.#kills.set(kill.id, kill);
      else this.hold(kill, identity);
    }
    for (const [id, at] of this.#pushedAt) {
      const kill = previous.get(id);
      if (now - at >= PUSH_TRUST_MS || lifted.includes(id)) this.#pushedAt.delete(id);
      else if (kill && !this.#kills.has(id)) this.#kills.set(id, kill);
    }
  }

  hold(kill: KillRecord, identity: GuardIdentity): void {
    if (!concernsGuard(kill, identity)) return;
    this.#kills.set(kill.id, kill);
    this.watchers.held(kill, identity);
  }
}
