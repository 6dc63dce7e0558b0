import { describe, expect, it } from 'vitest';
import {
  ANOMALY_COOLDOWN_MS,
  AnomalyDetector,
  cooldownOver,
  MIN_BASELINE_CALLS,
  rateSpike,
  spikeWindows,
} from './anomaly.detect.ts';
import { memorySql } from './sql.fixtures.ts';

const T0 = 1_800_000_000_000; // a whole second
const call = (tool: string | null = 'echo') => ({ calls: 1, tools: tool ? [tool] : [], tool });

/** One call every `everyMs` over the 10 baseline minutes that end 60 s before `end`. */
function seedBaseline(d: AnomalyDetector, end: number, everyMs: number) {
  for (let t = end - 660_000 + 1_000; t < end - 60_000; t += everyMs) d.observe(call(), t);
}

describe('spikeWindows / rateSpike (pure)', () => {
  it('current = slots [s-59, s]; baseline = the 10 minutes before: [s-659, s-60]', () => {
    expect(spikeWindows(1000)).toEqual({
      current: { from: 941, to: 1000 },
      baseline: { from: 341, to: 940 },
    });
  });

  it('compares the last minute with the average minute of the baseline', () => {
    expect(rateSpike(10, 30, 3)).toEqual({
      currentRate: 10,
      baselineRate: 3,
      baselineCalls: 30,
      threshold: 9,
      spike: true,
    });
    expect(rateSpike(10, 30, 4).spike).toBe(false); // threshold 12
  });

  it('needs a minimum baseline: the first calls of a new connection are no spike', () => {
    expect(rateSpike(500, 0, 3)).toMatchObject({ threshold: 0, spike: false });
    expect(rateSpike(500, MIN_BASELINE_CALLS - 1, 3).spike).toBe(false);
    expect(rateSpike(500, MIN_BASELINE_CALLS, 3).spike).toBe(true);
  });

  it('fires only strictly above the threshold', () => {
    expect(rateSpike(6, 20, 3).spike).toBe(false); // threshold 6
    expect(rateSpike(7, 20, 3).spike).toBe(true);
  });
});

describe('cooldownOver', () => {
  it('holds for exactly 5 minutes', () => {
    expect(cooldownOver(undefined, 0)).toBe(true);
    expect(cooldownOver(0, ANOMALY_COOLDOWN_MS - 1)).toBe(false);
    expect(cooldownOver(0, ANOMALY_COOLDOWN_MS)).toBe(true);
  });
});

describe('AnomalyDetector', () => {
  it('reports a rate spike once per cooldown, then again after it', () => {
    const d = new AnomalyDetector(memorySql(), T0);
    seedBaseline(d, T0, 20_000); // 3 calls a minute
    const fired: number[] = [];
    // 40 calls in the current minute: the 10th exceeds 3 × 3 = 9.
    for (let i = 0; i < 40; i++) {
      const findings = d.observe(call(), T0 + i * 100);
      if (findings.some((f) => f.anomalyType === 'rate_spike')) fired.push(i);
    }
    expect(fired).toEqual([9]);

    // Inside the cooldown another burst that would count as a spike is not reported again.
    const during = T0 + 200_000;
    for (let i = 0; i < 30; i++) expect(d.observe(call(), during + i)).toEqual([]);

    // Once the cooldown is over, the next spike is reported, once.
    const later = T0 + 1_000 + ANOMALY_COOLDOWN_MS; // the first one fired at T0 + 900 ms
    const again = [];
    for (let i = 0; i < 40; i++) again.push(...d.observe(call(), later + i));
    expect(again.map((f) => f.anomalyType)).toEqual(['rate_spike']);
  });

  it('counts slot s-60 in the baseline and s-59 in the current minute (real SQL)', () => {
    const s = T0 / 1000;
    const baselineEdge = new AnomalyDetector(memorySql(), T0);
    for (let i = 0; i < 20; i++) baselineEdge.observe(call(), (s - 60) * 1000 + 999); // baseline 2/min
    const firedAt: number[] = [];
    for (let i = 0; i < 10; i++) if (baselineEdge.observe(call(), T0).length) firedAt.push(i);
    expect(firedAt).toEqual([6]); // 7 > 2 × 3

    const currentEdge = new AnomalyDetector(memorySql(), T0);
    for (let i = 0; i < 20; i++) currentEdge.observe(call(), (s - 59) * 1000); // current, not baseline
    for (let i = 0; i < 10; i++) expect(currentEdge.observe(call(), T0)).toEqual([]);
  });

  it('describes the spike with the figures it used', () => {
    const d = new AnomalyDetector(memorySql(), T0);
    seedBaseline(d, T0, 20_000);
    let spike: ReturnType<AnomalyDetector['observe']>[number] | undefined;
    for (let i = 0; i < 20 && !spike; i++) {
      spike = d.observe(call('add'), T0 + i).find((f) => f.anomalyType === 'rate_spike');
    }
    expect(spike).toEqual({
      anomalyType: 'rate_spike',
      toolName: 'add',
      currentRate: 10,
      threshold: 9,
      details: {
        currentRate: 10,
        baselineRate: 3,
        threshold: 9,
        multiplier: 3,
        windowSeconds: 60,
        baselineMinutes: 10,
      },
    });
  });

  it('reports figures rounded to two decimals (2.4 × 3 is not 7.199999999999999)', () => {
    const d = new AnomalyDetector(memorySql(), T0);
    seedBaseline(d, T0, 25_000); // 24 calls in the baseline: 2.4 per minute
    let spike: ReturnType<AnomalyDetector['observe']>[number] | undefined;
    for (let i = 0; i < 20 && !spike; i++) {
      spike = d.observe(call('add'), T0 + i).find((f) => f.anomalyType === 'rate_spike');
    }
    expect(spike?.threshold).toBe(7.2);
    expect(spike?.details).toMatchObject({ baselineRate: 2.4, threshold: 7.2, currentRate: 8 });
  });

  it('uses the connection multiplier', () => {
    const d = new AnomalyDetector(memorySql(), T0);
    seedBaseline(d, T0, 20_000); // 3/min
    let firstAt = -1;
    for (let i = 0; i < 40 && firstAt < 0; i++) {
      if (d.observe(call(), T0 + i, { rateSpikeMultiplier: 10 }).length > 0) firstAt = i;
    }
    expect(firstAt).toBe(30); // the 31st call exceeds 3 × 10
  });

  it('flags destructive tool names even when nothing else is wrong, once per cooldown', () => {
    const d = new AnomalyDetector(memorySql(), T0);
    expect(d.observe(call('echo'), T0)).toEqual([]);
    expect(d.observe(call('delete_records'), T0 + 1)).toEqual([
      {
        anomalyType: 'destructive_pattern',
        toolName: 'delete_records',
        currentRate: null,
        threshold: null,
        details: { pattern: 'delete_*' },
      },
    ]);
    expect(d.observe(call('drop_table'), T0 + 2)).toEqual([]);
    expect(d.observe(call('drop_table'), T0 + ANOMALY_COOLDOWN_MS)).toEqual([]);
    expect(d.observe(call('purge_cache'), T0 + 1 + ANOMALY_COOLDOWN_MS)).toMatchObject([
      { anomalyType: 'destructive_pattern', toolName: 'purge_cache', details: { pattern: 'purge_*' } },
    ]);
  });

  it('matches every default pattern and nothing that merely contains the word', () => {
    for (const tool of ['delete_x', 'drop_x', 'truncate_x', 'destroy_x', 'purge_x']) {
      expect(new AnomalyDetector(memorySql(), T0).observe(call(tool), T0)).toHaveLength(1);
    }
    for (const tool of ['undelete_x', 'delete', 'xdrop_y', 'Delete_x']) {
      expect(new AnomalyDetector(memorySql(), T0).observe(call(tool), T0)).toEqual([]);
    }
  });

  it('uses the configured patterns (and none when the list is empty)', () => {
    const custom = new AnomalyDetector(memorySql(), T0);
    expect(custom.observe(call('delete_x'), T0, { destructivePatterns: ['wipe*'] })).toEqual([]);
    expect(custom.observe(call('wipe_all'), T0, { destructivePatterns: ['wipe*'] })).toHaveLength(1);
    const off = new AnomalyDetector(memorySql(), T0);
    expect(off.observe(call('delete_x'), T0, { destructivePatterns: [] })).toEqual([]);
  });

  it('keeps baseline and cooldowns across a new instance on the same storage', () => {
    const sql = memorySql();
    const first = new AnomalyDetector(sql, T0);
    seedBaseline(first, T0, 20_000);
    expect(first.observe(call('delete_x'), T0 - 1_000)).toHaveLength(1);

    const restarted = new AnomalyDetector(sql, T0);
    // The cooldown survived: no second destructive_pattern.
    expect(restarted.observe(call('delete_y'), T0)).toEqual([]);
    // The baseline survived: a spike still needs more than 9 calls and is seen.
    const fired: number[] = [];
    for (let i = 0; i < 15; i++) if (restarted.observe(call(), T0 + i).length) fired.push(i);
    expect(fired).toEqual([7]); // the two destructive calls plus 8 more: the 10th call of the minute
  });

  it('forgets slots older than the baseline window', () => {
    const sql = memorySql();
    const d = new AnomalyDetector(sql, T0);
    d.observe(call(), T0);
    d.observe(call(), T0 + 661_000);
    expect(sql.exec<{ second: number }>('SELECT second FROM anomaly_seconds').toArray()).toEqual([
      { second: (T0 + 661_000) / 1000 },
    ]);
  });
});
