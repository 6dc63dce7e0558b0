/** The Grafana dashboard in docs/grafana/ queries only metrics the gateway exposes (kept true). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAMILIES, familyOf } from './metrics.catalog';

const dashboard = JSON.parse(
  readFileSync(new URL('../docs/grafana/igris-edge.json', import.meta.url), 'utf8'),
) as {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
};

describe('grafana dashboard', () => {
  it('names only exposed metric families, and shows every family but the hub’s own counter', () => {
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        for (const name of expr.match(/\bigris_[a-z_]+/g) ?? []) {
          const family = familyOf(name);
          expect(family, `${panel.title}: ${name}`).not.toBeNull();
          used.add(family!);
        }
      }
    }
    const expected = Object.keys(FAMILIES).filter((f) => f !== 'igris_metrics_batches_total');
    expect([...used].sort()).toEqual(expected.sort());
  });
});
