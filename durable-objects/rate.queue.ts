/**
 * One rate window's entries in memory, oldest first: timestamps (and, for token windows, a weight
 * and the call's id), with a moving head instead of shifting arrays, so evicting the calls that
 * left the window and appending a new one are O(1) amortised. The running total of weights is kept
 * as entries come and go, so a window's count or token sum is read without a scan.
 *
 * Sorted by timestamp: a call stamped earlier than the newest entry (the clock stepped back) is
 * inserted in place, scanning from the tail (which is where it almost always belongs).
 */
export class RateQueue {
  #ts: number[] = [];
  /**
   * Weights and ids exist only for token windows (`weighted`): a request window holds nothing but
   * its timestamps (8 bytes per counted call), since it can hold as many calls as its limit.
   */
  #weights: number[] | null;
  #ids: Array<string | null> | null;
  #head = 0;
  #total = 0;
  /** Ids of the live entries (token windows): a repeated outcome counts once. */
  readonly #live = new Set<string>();

  constructor(weighted = false) {
    this.#weights = weighted ? [] : null;
    this.#ids = weighted ? [] : null;
  }

  /** Entries held (some may already have left a window until `dropThrough` runs). */
  get size(): number {
    return this.#ts.length - this.#head;
  }

  /** Sum of the held entries' weights (their count, for request windows). */
  get total(): number {
    return this.#total;
  }

  has(id: string): boolean {
    return this.#live.has(id);
  }

  /** Timestamp of the i-th oldest held entry. */
  tsAt(i: number): number {
    return this.#ts[this.#head + i]!;
  }

  weightAt(i: number): number {
    return this.#weights ? this.#weights[this.#head + i]! : 1;
  }

  /** Drops every entry stamped at or before `since` (the ones that left a window ending now). */
  dropThrough(since: number): void {
    while (this.#head < this.#ts.length && this.#ts[this.#head]! <= since) {
      this.#total -= this.weightAt(0);
      const id = this.#ids?.[this.#head];
      if (id !== null && id !== undefined) this.#live.delete(id);
      this.#head++;
    }
    // Compact once the dead prefix is at least half the array: each entry is moved O(1) times.
    if (this.#head > 32 && this.#head * 2 >= this.#ts.length) {
      this.#ts = this.#ts.slice(this.#head);
      this.#weights = this.#weights?.slice(this.#head) ?? null;
      this.#ids = this.#ids?.slice(this.#head) ?? null;
      this.#head = 0;
    }
  }

  /** Adds an entry in timestamp order (after any entry with the same timestamp). */
  insert(ts: number, weight = 1, id: string | null = null): void {
    if (!this.#weights && (weight !== 1 || id !== null))
      throw new Error('an unweighted queue counts 1 per entry');
    let at = this.#ts.length;
    while (at > this.#head && this.#ts[at - 1]! > ts) at--;
    if (at === this.#ts.length) {
      this.#ts.push(ts);
      this.#weights?.push(weight);
      this.#ids?.push(id);
    } else {
      this.#ts.splice(at, 0, ts);
      this.#weights?.splice(at, 0, weight);
      this.#ids?.splice(at, 0, id);
    }
    this.#total += weight;
    if (id !== null) this.#live.add(id);
  }

  /** Count and weight of the held entries stamped after `since`, without dropping anything. */
  after(since: number): { count: number; total: number } {
    let i = this.#head;
    let dropped = 0;
    while (i < this.#ts.length && this.#ts[i]! <= since) {
      dropped += this.#weights ? this.#weights[i]! : 1;
      i++;
    }
    return { count: this.#ts.length - i, total: this.#total - dropped };
  }
}
