/**
 * The floor section of BENCHMARKS.md's generated results (bench/floor.bench.ts): what any gateway
 * call costs on this runtime, next to the product's call.
 */

import { ms } from './lib/format.ts';
import type { BenchResults } from './run.ts';

/** The platform's floor (bench/floor.bench.ts): what any gateway call costs on this runtime. */
export function floorSection(r: BenchResults): string[] {
  const f = r.floor;
  if (!f) return [];
  const label: Record<string, string> = {
    direct: 'direct to the upstream',
    healthz: '`GET /healthz` (request in, Hono, response out; no I/O)',
    floor: '**floor**: read the request, one DO RPC writing one SQLite row, forward, stream back',
    gateway: "**gateway**: the product's `tools/call` (policy, guard, audit, stages, outcome)",
  };
  const out = [
    `### The platform's floor on this machine (1 KB, one runtime, ${f.via})`,
    '',
    'The floor is the work no gateway on Workers avoids (bench/floor/floor.worker.js): one Durable Object round trip',
    'before forwarding, as the targets allow, and the subrequest — in this runtime that includes the local',
    'bindings on the same thread (since session 21 no entry Worker: the port is workerd’s socket bound to the',
    'Worker). Gateway − floor is what Igris Edge itself costs.',
    '',
    `| Arm | p50 ms | p99 ms | added p50 | added p99 | workerd CPU ms/call, one at a time | saturation rps (${f.concurrency} concurrent) | workerd CPU ms/call at saturation |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, a] of Object.entries(f.arms)) {
    out.push(
      `| ${label[name] ?? name} | ${ms(a.p50)} | ${ms(a.p99)} | ${ms(a.addedP50)} | ${ms(a.addedP99)} | ${ms(a.cpuMsSequential)} | ${a.saturation ? ms(a.saturation.rps, 0) : '–'} | ${a.saturation ? ms(a.saturation.cpuMsPerCall) : '–'} |`,
    );
  }
  const g = f.arms.gateway;
  const fl = f.arms.floor;
  if (g.saturation && fl.saturation) {
    out.push(
      '',
      `Gateway − floor: p50 +${ms(g.p50 - fl.p50)} ms, CPU per call at saturation +${ms(g.saturation.cpuMsPerCall - fl.saturation.cpuMsPerCall)} ms ` +
        `(the gateway's CPU is ${ms(g.saturation.cpuMsPerCall / fl.saturation.cpuMsPerCall)}× the floor's). ` +
        `Floor throughput / direct: ${ms(fl.saturation.rps / (f.arms.direct.saturation?.rps ?? Number.NaN), 3)}×.`,
    );
  }
  const e = f.events;
  if (e) {
    out.push(
      '',
      `Live events on the same runtime, the floor (bench/floor/floor.worker.js's bare hub: one event written to ${e.subscribers.toLocaleString('en')} SSE streams in the product hub's slices, no numbering, replay, filters or guard; ${e.events} events 150 ms apart): ` +
        `send of the publishing request → delivery p50 ${ms(e.p50, 1)} ms, p99 ${ms(e.p99, 1)} ms, the median event's last delivery ${ms(e.lastP50, 1)} ms; ` +
        `fan-out spread p99 ${ms(e.fanoutP99, 1)} ms; workerd CPU ${ms(e.workerdUsPerDelivery, 0)} µs per delivery; missing ${e.missing}, duplicated ${e.duplicated}.`,
    );
  }
  out.push('');
  return out;
}
