/**
 * An index of a scan's plain findings (no encoding), for the engine's decoded spans
 * (inspection.engine.ts): whether a rule's plain finding already overlaps a span. A linear search per
 * span was quadratic once redactSpans' uncapped findings could be as many as the spans.
 */
import type { Finding } from './inspection.engine.js';

/**
 * Findings without an encoding, by rule: does one overlap [start, end)? The findings given first are
 * sorted by start with a running maximum of their ends (a binary search per question); those added
 * later (the hidden-attack signals of decoded spans, capped like every signal) are searched in turn.
 */
export class PlainIndex {
  private readonly sorted = new Map<string, { starts: number[]; maxEnds: number[] }>();
  private readonly added = new Map<string, Finding[]>();

  constructor(found: readonly Finding[]) {
    const byRule = new Map<string, Finding[]>();
    for (const f of found) {
      if (f.encoding) continue;
      const list = byRule.get(f.ruleId);
      if (list) list.push(f);
      else byRule.set(f.ruleId, [f]);
    }
    for (const [ruleId, list] of byRule) {
      list.sort((a, b) => a.start - b.start);
      const starts: number[] = [];
      const maxEnds: number[] = [];
      let max = -1;
      for (const f of list) {
        starts.push(f.start);
        max = Math.max(max, f.end);
        maxEnds.push(max);
      }
      this.sorted.set(ruleId, { starts, maxEnds });
    }
  }

  add(f: Finding): void {
    const list = this.added.get(f.ruleId);
    if (list) list.push(f);
    else this.added.set(f.ruleId, [f]);
  }

  overlaps(ruleId: string, start: number, end: number): boolean {
    const s = this.sorted.get(ruleId);
    if (s) {
      // The last finding starting before `end`: overlap when any up to it ends after `start`.
      let lo = 0;
      let hi = s.starts.length - 1;
      let at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (s.starts[mid]! < end) {
          at = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (at >= 0 && s.maxEnds[at]! > start) return true;
    }
    return this.added.get(ruleId)?.some((o) => o.start < end && o.end > start) ?? false;
  }
}
