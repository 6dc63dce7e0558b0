/**
 * The kill switches one ConnectionGuard holds, in memory (why memory, and where they come from:
 * connection-guard.do.ts). A switch is held only if it concerns the guard (kill.match.ts), and
 * holding one for the first time wakes the watches it matches (kill.watchers.ts). Pushes that
 * arrive before the guard's first load are kept for that load (`pushedBeforeLoad`), and every
 * push bumps `epoch`, so a D1 re-read that started before a push cannot undo it.
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

export class HeldKills {
  #kills = new Map<string, KillRecord>();
  readonly watchers = new KillWatchers();
  /** Bumped by every push. */
  epoch = 0;
  /** Switches pushed before the first load (a cold guard does not read D1 for a push): held at the load. */
  readonly pushedBeforeLoad = new Map<string, KillRecord>();

  /** The held switch that refuses this caller's calls, if any. */
  matching(identity: GuardIdentity, caller: KillCaller): KillRecord | null {
    return matchingKill(this.#kills.values(), identity, caller);
  }

  /** The held switches that refuse every call of the guard's session. */
  holdingSession(identity: GuardIdentity): KillRecord[] {
    return [...this.#kills.values()].filter((k) => holdsWholeSession(k, identity));
  }

  push(kill: KillRecord, identity: GuardIdentity): void {
    this.epoch++;
    this.hold(kill, identity);
  }

  lift(killSwitchId: string): void {
    this.epoch++;
    this.#kills.delete(killSwitchId);
  }

  /** The first load happened: what was pushed before it is held on top of what it read. */
  loaded(identity: GuardIdentity): void {
    for (const kill of this.pushedBeforeLoad.values()) this.hold(kill, identity);
    this.pushedBeforeLoad.clear();
  }

  /** Takes the switches read from D1; those held for the first time wake their watches. */
  replace(kills: readonly KillRecord[], identity: GuardIdentity): void {
    const previous = this.#kills;
    this.#kills = new Map();
    for (const kill of kills) {
      if (previous.has(kill.id)) this.#kills.set(kill.id, kill);
      else this.hold(kill, identity);
    }
  }

  hold(kill: KillRecord, identity: GuardIdentity): void {
    if (!concernsGuard(kill, identity)) return;
    this.#kills.set(kill.id, kill);
    this.watchers.held(kill, identity);
  }
}
