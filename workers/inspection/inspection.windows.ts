/**
 * The literal windows of one scan (inspection.engine.ts, step 2): each literal hit opens a window
 * for the rules that own the literal; a rule's windows are merged while they overlap, and once the
 * automaton pass is over they are read back rule by rule, each rule's windows in order.
 *
 * One instance per engine, reused by every scan: the per-rule arrays are allocated once, the closed
 * windows live in one typed array that grows when a scan needs more, and a scan resets only the
 * rules it touched. (As arrays made per scan, the window bookkeeping was the largest allocation of
 * a scan after the normalised text.) A scan does not re-enter another while its windows are open:
 * decoded spans are scanned after the windows of the text they were found in are confirmed.
 */
export class Windows {
  /** Per rule: its open window (-1: none), and its first and last closed window (-1: none). */
  private readonly openStart: Int32Array;
  private readonly openEnd: Int32Array;
  private readonly firstWindow: Int32Array;
  private readonly lastWindow: Int32Array;
  /** Closed windows as [start, end, next window of the same rule] triples. */
  private closed = new Int32Array(3 * 64);
  private closedCount = 0;
  /** The rules with a window in this scan, in order of their first window. */
  private readonly touched: Int32Array;
  private touchedCount = 0;

  constructor(rules: number) {
    this.openStart = new Int32Array(rules).fill(-1);
    this.openEnd = new Int32Array(rules);
    this.firstWindow = new Int32Array(rules).fill(-1);
    this.lastWindow = new Int32Array(rules).fill(-1);
    this.touched = new Int32Array(rules);
  }

  /** Forgets the windows of the last scan: only the rules it touched are reset. */
  begin(): void {
    for (let t = 0; t < this.touchedCount; t++) {
      const rule = this.touched[t]!;
      this.openStart[rule] = -1;
      this.firstWindow[rule] = -1;
      this.lastWindow[rule] = -1;
    }
    this.touchedCount = 0;
    this.closedCount = 0;
  }

  /** A window [start, end) for `rule`: merged into its open window when they overlap. */
  add(rule: number, start: number, end: number): void {
    const os = this.openStart[rule]!;
    if (os >= 0 && start <= this.openEnd[rule]!) {
      if (start < os) this.openStart[rule] = start;
      if (end > this.openEnd[rule]!) this.openEnd[rule] = end;
      return;
    }
    if (os >= 0) this.close(rule);
    else this.touched[this.touchedCount++] = rule;
    this.openStart[rule] = start;
    this.openEnd[rule] = end;
  }

  /** Closes every open window; then `rules`, `first` and `next` list them. */
  finish(): void {
    for (let t = 0; t < this.touchedCount; t++) {
      const rule = this.touched[t]!;
      this.close(rule);
      this.openStart[rule] = -1;
    }
  }

  /** How many rules have windows; `rule(t)` is the t-th of them. */
  get rules(): number {
    return this.touchedCount;
  }
  rule(t: number): number {
    return this.touched[t]!;
  }
  /** The first closed window of `rule` (-1: none), and the one after window k. */
  first(rule: number): number {
    return this.firstWindow[rule]!;
  }
  next(k: number): number {
    return this.closed[k * 3 + 2]!;
  }
  start(k: number): number {
    return this.closed[k * 3]!;
  }
  end(k: number): number {
    return this.closed[k * 3 + 1]!;
  }

  private close(rule: number): void {
    const k = this.closedCount++;
    if (k * 3 + 3 > this.closed.length) {
      const grown = new Int32Array(this.closed.length * 2);
      grown.set(this.closed);
      this.closed = grown;
    }
    this.closed[k * 3] = this.openStart[rule]!;
    this.closed[k * 3 + 1] = this.openEnd[rule]!;
    this.closed[k * 3 + 2] = -1;
    const last = this.lastWindow[rule]!;
    if (last >= 0) this.closed[last * 3 + 2] = k;
    else this.firstWindow[rule] = k;
    this.lastWindow[rule] = k;
  }
}
