/**
 * Results: bench/results/latest.json (machine-readable, every figure) and the generated section of
 * BENCHMARKS.md, between the markers below, so a rerun replaces it and leaves the prose alone.
 * A run of only some suites goes to bench/results/partial.json and does not touch BENCHMARKS.md.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../scripts/local-stack.ts';
import { floorSection } from './floor.report.ts';
import { gcSection } from './gc.report.ts';
import { type KillSwitchPathResult, killSwitchPaths } from './killswitch.bench.ts';
import { ms, sp } from './lib/format.ts';
import { renderLlm } from './llm.report.ts';
import type { BenchResults } from './run.ts';
import { roundTripRows, targetsSection } from './targets.report.ts';

export const START = '<!-- bench:generated:start (npm run bench rewrites this section) -->';
export const END = '<!-- bench:generated:end -->';

export function renderMarkdown(r: BenchResults): string {
  const m = r.meta;
  const out: string[] = [];
  const preliminary = m.busy || m.quick;
  out.push(START, '');
  if (preliminary) {
    out.push(
      `> **Preliminary${m.busy ? ' — machine busy' : ''}${m.quick ? ' — quick run' : ''}.** ` +
        `${
          m.busy
            ? `Other processes used the CPU: load average ${m.loadBefore.loadavg.join(' / ')} before the run${
                m.foreignCpu
                  ? `, ${ms(m.foreignCpu.meanCores)} cores on average during it (peak ${ms(m.foreignCpu.maxCores)})`
                  : ''
              }. `
            : ''
        }` +
        `${m.quick ? 'Quick mode uses small samples (p99 from a few hundred calls). ' : ''}` +
        'Rerun `npm run bench` on a quiet machine for figures to quote.',
      '',
    );
  }
  if (m.note) out.push(`> Note: ${m.note}`, '');
  if (m.reloads) {
    out.push(
      `> **wrangler dev reloaded the Worker ${m.reloads} time(s) during the run** (a source file changed): figures mix code versions; rerun on an unchanging tree.`,
      '',
    );
  }
  out.push(
    `Run ${m.date} · commit \`${m.machine.commit}\`${m.machine.dirty ? ' (uncommitted changes)' : ''} · ` +
      `${m.quick ? 'quick' : 'full'} · ${m.durationSeconds} s`,
    '',
    `Machine: ${m.machine.cpuModel}, ${m.machine.cores} cores, ${m.machine.memoryGb} GB, ${m.machine.platform} · ` +
      `Node ${m.machine.node} · wrangler ${m.machine.wrangler} · workerd ${m.machine.workerd}`,
    '',
    `Placement: ${
      m.placement.pinned
        ? `taskset — load generator on cpu ${m.placement.loadGenerator}, upstream on cpu ${m.placement.upstream}, workerd on cpu ${m.placement.workerd}`
        : `not pinned (${m.placement.why})`
    } · load average before ${m.loadBefore.loadavg.join(' / ')}, after ${m.loadAfter?.loadavg.join(' / ') ?? '–'}${
      m.foreignCpu
        ? ` · other processes' CPU during the run ${ms(m.foreignCpu.meanCores)} cores on average (peak ${ms(m.foreignCpu.maxCores)})`
        : ''
    } · ` + `POLICY_CACHE_TTL_MS ${m.policyCacheTtlMs} (production default)`,
    '',
    ...(m.warmUp
      ? [
          `Warm-up before the stack's suites (not measured): ${m.warmUp.calls} calls in ${m.warmUp.seconds} s on the gateway paths; ` +
            `runtime socket p50 of its first 200 calls ${ms(m.warmUp.firstP50)} ms, of its last 200 ${ms(m.warmUp.lastP50)} ms.`,
          '',
        ]
      : []),
    'Figures: pooled percentile over all samples, and in small print the p25–p75 of the same figure across ABBA rounds.',
    '',
  );

  const errors = Object.entries(r.errors);
  if (errors.length) {
    out.push('**Suites that failed in this run:**', '');
    for (const [suite, err] of errors) out.push(`- ${suite}: \`${String(err).split('\n')[0]}\``);
    out.push('');
  }

  out.push(...targetsSection(r));
  out.push(...floorSection(r));
  out.push(...gcSection(r));

  if (r.overhead) {
    const o = r.overhead;
    const hasR = o.sequential.some((s) => s.paths.R);
    const hasB = o.sequential.some((s) => s.paths.B);
    // Columns per gateway path present: R (the runtime's own socket, what `npm start` serves since
    // session 13), and B only in runs with wrangler dev's proxy in front of the runtime.
    const gateways = [...(hasR ? (['R'] as const) : []), ...(hasB ? (['B'] as const) : [])];
    out.push(
      '### Overhead, one request at a time (ms)',
      '',
      hasB
        ? 'A = direct to the upstream · B = through the gateway on wrangler dev’s port · R = through the gateway on the Worker runtime’s own socket (no wrangler dev proxy hop).'
        : 'A = direct to the upstream · R = through the gateway on the Worker runtime’s own socket, the port `npm start` serves.',
      '',
      `| Payload | A p50 | A p99 |${gateways.map((g) => ` ${g} p50 | ${g} p99 | added ${g} p50 | added ${g} p99 |`).join('')}`,
      `|---|---|---|${gateways.map(() => '---|---|---|---|').join('')}`,
    );
    for (const s of o.sequential) {
      const a = s.paths.A;
      out.push(
        `| ${s.sizeKb} KB | ${sp(a?.p50)} | ${sp(a?.p99)} |` +
          gateways
            .map((g) => {
              const x = s.paths[g];
              return ` ${sp(x?.p50)} | ${sp(x?.p99)} | ${sp(s.added[g]?.p50)} | ${sp(s.added[g]?.p99)} |`;
            })
            .join(''),
      );
    }
    out.push(
      '',
      '### Overhead at fixed offered rates (1 KB, open loop, latency from the intended send time, ms)',
      '',
      '| Offered | Path | Achieved rps | p50 | p99 | Added p50 | Added p99 | Errors | Note |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const row of o.rates) {
      if (row.skipped) {
        out.push(`| ${row.offeredRps} rps | – | | | | | | | not run: ${row.skipped} |`);
        continue;
      }
      for (const [name, x] of Object.entries(row.paths)) {
        if (!x) continue;
        const added = row.added[name as 'R' | 'B'];
        out.push(
          `| ${row.offeredRps} rps | ${name} | ${ms(x.achievedRps, 0)} | ${ms(x.p50)} | ${ms(x.p99)} | ${added ? ms(added.p50) : ''} | ${added ? ms(added.p99) : ''} | ${x.errors} | ${
            x.overloaded
              ? `over capacity: backlog > 1 s, schedule stopped (${x.unsent} never sent)`
              : x.achievedRps < 0.9 * row.offeredRps
                ? 'over capacity: answers fell behind the schedule'
                : ''
          } |`,
        );
      }
    }
    const sat = o.saturation;
    out.push(
      '',
      `### Throughput at saturation (${sat.sizeKb} KB, ${sat.concurrency} concurrent, closed loop)`,
      '',
      'CPU per answered call from /proc (user + system time over the saturation blocks ÷ answers): workerd = the runtime’s workerd processes (the Worker with local D1/KV/DOs; in runs with wrangler dev, its proxy runtime too); runtime host (node) = the node process that hosts the runtime (scripts/runtime.ts; wrangler in older runs).',
      '',
      '| Path | rps | Ratio to direct | CPU ms/call: workerd | upstream | load generator | runtime host (node) |',
      '|---|---|---|---|---|---|---|',
    );
    for (const [name, v] of Object.entries(sat.rps)) {
      const c = sat.cpuMsPerCall?.[name as 'A' | 'B' | 'R'] ?? {};
      out.push(
        `| ${name} | ${sp(v, 0)} | ${name === 'A' ? '1' : sp(sat.ratio[name as 'B' | 'R'])} | ${ms(c.workerd)} | ${ms(c.upstream)} | ${ms(c.loadgen)} | ${ms(c.wrangler)} |`,
      );
    }
    out.push('');
  }

  if (r.ladder) {
    const hasRps = r.ladder.stages.some((s) => s.rps);
    out.push(
      `### Feature ladder (1 KB, one at a time, ${r.ladder.path})`,
      '',
      `| Stage | p50 ms | p99 ms | Step p50 (vs previous) | Added p50 (vs direct) |${hasRps ? ' Saturation rps |' : ''}`,
      `|---|---|---|---|---|${hasRps ? '---|' : ''}`,
    );
    for (const s of r.ladder.stages) {
      out.push(
        `| ${s.name} | ${sp(s.p50)} | ${sp(s.p99)} | ${sp(s.stepP50)} | ${sp(s.addedP50)} |${hasRps ? ` ${sp(s.rps, 0)} |` : ''}`,
      );
    }
    out.push(
      '| + audit | not isolable: the spool write is inside the one guard round trip — see the breakdown | | | | |',
      '',
    );
  }

  if (r.breakdown) {
    const b = r.breakdown;
    out.push(
      `### Where the time goes (instrumented runtime, ${b.requests} calls, ${b.via})`,
      '',
      `Client latency p50 ${ms(b.clientP50)} ms (response headers at ${ms(b.clientHeadersP50)} ms), p99 ${ms(b.clientP99)} ms · direct p50 ${ms(b.directP50)} ms · ` +
        `GET /healthz through the same socket p50 ${ms(b.healthzP50)} ms (workerd + Hono, no I/O).`,
      '',
      'Inside workerd the clock has 1 ms resolution and moves only on I/O: stage figures are means over all calls (the quantization averages out), p99 to the millisecond.',
      '',
      '| Stage of a gateway call | mean ms | p99 ms | Runs in % of calls |',
      '|---|---|---|---|',
    );
    for (const s of b.stages)
      out.push(`| ${s.stage} | ${ms(s.mean)} | ${ms(s.p99, 0)} | ${ms(s.share * 100, 0)} |`);
    if (b.roundTrips) out.push('', ...roundTripRows(b.roundTrips));
    out.push('', '| Piece on its own | mean ms | p99 ms | n |', '|---|---|---|---|');
    for (const p of b.pieces) out.push(`| ${p.piece} | ${ms(p.mean)} | ${ms(p.p99, 0)} | ${p.n} |`);
    if ('error' in b.profile) out.push('', `CPU profile: failed (${b.profile.error}).`);
    else {
      const prof = b.profile;
      out.push(
        '',
        `CPU profile of the Worker isolate (Durable Objects included; D1/KV services are not): ${prof.calls} calls, isolate busy ${ms(prof.busyShare * 100, 0)}% of ${ms(prof.wallMs / 1000, 1)} s. ` +
          'Share of busy samples by source module (native work counted for the module that called it):',
        '',
        '| Module | self | on stack |',
        '|---|---|---|',
      );
      const inclusive = new Map(prof.modulesInclusive.map((m) => [m.module, m.share]));
      for (const m of prof.modules.slice(0, 15)) {
        const onStack = inclusive.get(m.module);
        out.push(
          `| ${m.module} | ${ms(m.share * 100, 1)}% | ${onStack === undefined ? '–' : `${ms(onStack * 100, 1)}%`} |`,
        );
      }
    }
    out.push('');
  }

  if (r.policy) {
    out.push(
      `### Policy evaluation (pure, Node, ${r.policy.evaluations.toLocaleString('en')} decisions per size; timer cost ${ms(r.policy.timerOverheadUs, 3)} µs included)`,
      '',
      '| Rules | with args.* / session.* conditions | p50 µs | p99 µs | hot names p99 | new names p99 | max µs | Gateway load: parse + compile = total ms | First 100 decisions after a load (rules compile lazily) µs | Validation at publish ms |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const row of r.policy.rows) {
      const conditioned =
        row.mix.argsRules !== undefined ? `${row.mix.argsRules} / ${row.mix.sessionRules ?? 0}` : '—';
      out.push(
        `| ${row.rules.toLocaleString('en')} | ${conditioned} | ${ms(row.all.p50)} | ${ms(row.all.p99)} | ${ms(row.cached.p99)} | ${ms(row.uncached.p99)} | ${ms(row.all.max, 0)} | ${ms(row.loadMs.parse, 1)} + ${ms(row.loadMs.compile, 1)} = ${ms(row.loadMs.total, 1)} | ${row.firstDecisionsUs ? ms(row.firstDecisionsUs.first100, 0) : '—'} | ${ms(row.loadMs.validate, 1)} |`,
      );
    }
    out.push('');
  }

  if (r.inspection?.engine) {
    const e = r.inspection.engine;
    out.push(
      `### Content inspection (pure, Node, ${e.rules} rules, every pack; benign text from test/corpora/detections)`,
      '',
      '| Benign text | wall µs/KB (median scan) | CPU µs/KB |',
      '|---|---|---|',
      ...(e.benignSizes ?? []).map((s) => `| ${s.kb} KB | ${ms(s.usPerKb, 1)} | ${ms(s.cpuUsPerKb, 1)} |`),
      '',
      'Adversarial inputs (µs/KB should stay flat from 1 KB to 1 MB: linear time):',
      '',
      '| Input | KB | ms | µs/KB |',
      '|---|---|---|---|',
      ...e.adversarial.map((a) => `| ${a.input} | ${a.kb} | ${ms(a.ms)} | ${ms(a.usPerKb, 1)} |`),
      '',
    );
  }
  if (r.inspection?.gateway) {
    const g = r.inspection.gateway;
    out.push(
      `### Inspection on the gateway path (${g.calls} calls of ${g.bytes} bytes, alternating; ${g.errors} errors)`,
      '',
      '| Connection | p50 ms | p99 ms |',
      '|---|---|---|',
      `| no packs | ${sp(g.plain.p50)} | ${sp(g.plain.p99)} |`,
      `| every pack | ${sp(g.inspected.p50)} | ${sp(g.inspected.p99)} |`,
      `| added | ${sp(g.added.p50)} | ${sp(g.added.p99)} |`,
      '',
    );
  }

  if (r.tracing) {
    const t = r.tracing;
    out.push(
      `### OpenTelemetry tracing on the gateway path (${t.calls} calls, rounds on/off alternating; ${t.errors} errors; ${t.spans} spans exported in ${t.exports} requests)`,
      '',
      '| Tracing | p50 ms | p99 ms |',
      '|---|---|---|',
      `| off | ${sp(t.off.p50)} | ${sp(t.off.p99)} |`,
      `| on, sample rate 1 | ${sp(t.on.p50)} | ${sp(t.on.p99)} |`,
      `| added | ${sp(t.added.p50)} | ${sp(t.added.p99)} |`,
      '',
      `Tracing code's own CPU per call (plain Node, 8 spans): off ${ms(t.cpu.offUs, 1)} µs, on ${ms(t.cpu.onUs, 1)} µs, plus ${ms(t.cpu.serializeUs, 1)} µs to serialize the call's spans as OTLP JSON (after the answer).`,
      '',
    );
  }

  if (r.metrics) {
    const m = r.metrics;
    out.push(
      `### Prometheus metrics on the gateway path (${m.calls} calls, rounds on/off alternating; ${m.errors} errors; rows recorded: ${m.recorded.on} on, ${m.recorded.off} off)`,
      '',
      '| Metrics | p50 ms | p99 ms |',
      '|---|---|---|',
      `| off (switch in bench/metrics/switch.worker.js) | ${sp(m.off.p50)} | ${sp(m.off.p99)} |`,
      `| on (as deployed) | ${sp(m.on.p50)} | ${sp(m.on.p99)} |`,
      `| added | ${sp(m.added.p50)} | ${sp(m.added.p99)} |`,
      '',
      `Metric recording's own CPU per call (plain Node, in the guard): ${ms(m.cpu.recordUs, 2)} µs to turn the row into its deltas, plus ${ms(m.cpu.batchUs, 2)} µs as its share of the batch sent to the MetricsHub (100 calls a batch, off the call's path).`,
      '',
    );
  }

  for (const k of killSwitchPaths(r.killSwitch)) out.push(...killSwitchSection(k));

  if (r.events) {
    const e = r.events;
    out.push(
      `### Live events (${e.connected.toLocaleString('en')} SSE subscribers, ${e.events} events, ${e.via ?? 'wrangler dev port'})`,
      '',
      'Latency is measured from when the call that produces the event was SENT (an upper bound of publish → delivery: the publish instant is not observable from outside); fan-out from the event’s first delivery.',
      '',
      '| | p50 | p99 | last (worst event) | last (median event) |',
      '|---|---|---|---|---|',
      `| call sent → delivered | ${ms(e.p50, 1)} ms | ${ms(e.p99, 1)} ms | ${ms(e.last, 1)} ms | ${ms(e.lastP50, 1)} ms |`,
      `| first delivery → delivered (fan-out) | ${ms(e.fanoutP50, 1)} ms | ${ms(e.fanoutP99, 1)} ms | ${ms(e.fanoutLast, 1)} ms | |`,
      `| call sent → delivered, ONE subscriber (no fan-out) | ${ms(e.soloP50, 1)} ms | ${ms(e.soloP99, 1)} ms | | |`,
      '',
      `Missing ${e.missing} · duplicated ${e.duplicated} · all ${e.connected.toLocaleString('en')} connected in ${ms(e.connectMs / 1000, 1)} s`,
      '',
    );
    if (e.workerdUsPerDelivery !== undefined && e.clientUsPerDelivery !== undefined) {
      out.push(
        `CPU per delivery while all listened (the events' calls included): workerd ${ms(e.workerdUsPerDelivery, 0)} µs, this load generator ${ms(e.clientUsPerDelivery, 0)} µs — it reads every socket on one event loop, so the later deliveries' times include its own reading of the earlier ones when it is the slower of the two.`,
        '',
      );
    }
  }

  if (r.llm) out.push(...renderLlm(r.llm));

  if (r.audit) {
    const a = r.audit;
    out.push(
      `### Audit durability (${a.offeredRps} rps offered = 2 × ${ms(a.sustainableRps, 0)}, ${a.durationMs / 1000} s, runtime SIGKILLed at 40% and restarted in ${ms((a.restartMs ?? 0) / 1000, 1)} s)`,
      '',
      '| Sent | Acknowledged | Not acknowledged | Rows found | Lost | Duplicated | Outcome unknown | Rows of unacknowledged calls |',
      '|---|---|---|---|---|---|---|---|',
      `| ${a.sent} | ${a.acknowledged} | ${a.notAcknowledged} | ${a.rowsFound} | ${a.lost} | ${a.duplicated} | ${a.outcomeUnknown} | ${a.rowsOfUnacknowledged} |`,
      '',
    );
  }
  out.push(END);
  return out.join('\n');
}

export function writeResults(results: BenchResults): string[] {
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, results.meta.complete ? 'latest.json' : 'partial.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  const written = [path.relative(ROOT, file)];
  if (!results.meta.complete) return written;
  const doc = path.join(ROOT, 'BENCHMARKS.md');
  const current = existsSync(doc) ? readFileSync(doc, 'utf8') : `# Benchmarks\n\n${START}\n${END}\n`;
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next =
    start >= 0 && end > start
      ? `${current.slice(0, start)}${renderMarkdown(results)}${current.slice(end + END.length)}`
      : `${current.trimEnd()}\n\n${renderMarkdown(results)}\n`;
  writeFileSync(doc, next);
  written.push('BENCHMARKS.md');
  return written;
}

/** `node bench/report.ts [file]` re-renders BENCHMARKS.md from a results file (default latest.json). */
if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2] ?? path.join(ROOT, 'bench', 'results', 'latest.json');
  const results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  results.meta.complete = true;
  console.log(writeResults(results).join(', '));
}

function killSwitchSection(k: KillSwitchPathResult): string[] {
  return [
    `### Kill switch (connection scope, ${k.trials.length} trials under ${k.loadRps} rps, ${k.via ?? 'wrangler dev port'})`,
    '',
    '| Figure | p50 | worst |',
    '|---|---|---|',
    `| API answer time (POST /api/v1/kill-switch) | ${ms(k.apiMs.p50, 1)} ms | ${ms(k.apiMs.max, 1)} ms |`,
    ...(k.quietApiMs
      ? [
          `| API answer time with no load (the switch's own cost) | ${ms(k.quietApiMs.p50, 1)} ms | ${ms(k.quietApiMs.max, 1)} ms |`,
        ]
      : []),
    `| Calls still admitted after the answer, for | ${ms(k.effectiveMs.p50, 1)} ms | ${ms(k.effectiveMs.max, 1)} ms |`,
    `| First "Session Suspended" after the answer | ${ms(k.firstRefusalMs.p50, 1)} ms | ${ms(k.firstRefusalMs.max, 1)} ms |`,
    `| Calls sent after the answer and admitted | ${k.admittedAfterTotal} in total | |`,
    `| Calls neither admitted nor suspended | ${
      Object.entries(k.otherErrors ?? {})
        .map(([s, n]) => `${n} × ${s}`)
        .join(', ') || 'none'
    } | |`,
    '',
  ];
}
