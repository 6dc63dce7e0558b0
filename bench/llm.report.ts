/** The LLM section of the generated part of BENCHMARKS.md (see report.ts). */

import { ms, sp } from './lib/format.ts';
import type { LlmPathName } from './lib/llm.ts';
import { LLM_PATH_LABELS } from './lib/llm.ts';
import type { LlmResult, LlmSequential } from './llm.bench.ts';

const ORDER: LlmPathName[] = ['A', 'R', 'B', 'P'];

function latencyRows(s: LlmSequential): string[] {
  const rows: string[] = [];
  for (const name of ORDER) {
    const x = s.paths[name];
    if (!x) continue;
    const added = s.added[name];
    rows.push(
      `| ${name} — ${LLM_PATH_LABELS[name]} | ${sp(x.p50)} | ${sp(x.p99)} | ${added ? sp(added.p50) : ''} | ${added ? sp(added.p99) : ''} | ${x.n} | ${x.errors} |`,
    );
  }
  return rows;
}

/** "Igris added ÷ Portkey added" for one figure, when both exist and Portkey's is positive. */
function ratio(s: LlmSequential, name: 'R' | 'B', q: 'p50' | 'p99'): string {
  const igris = s.added[name]?.[q].value;
  const portkey = s.added.P?.[q].value;
  if (igris === undefined || portkey === undefined || !(portkey > 0)) return '–';
  return `${ms(igris / portkey, 1)}×`;
}

export function renderLlm(r: LlmResult): string[] {
  const out: string[] = [
    `### LLM gateway: direct vs Igris Edge vs Portkey's gateway (${r.requestBytes} B chat completion, one at a time, ms)`,
    '',
    `Same fake provider (\`test/e2e/llm.fake-provider.ts\`, its own process) for every path, ABBA rounds in one run. ` +
      `P = Portkey's open-source gateway ${r.portkey.version ? `\`@portkey-ai/gateway\` ${r.portkey.version}` : ''} on Node, pinned to the gateway core like workerd` +
      `${r.portkey.error ? ` — **not measured in this run: ${r.portkey.error.split('\n')[0]}**` : ''}.`,
    '',
    '**Non-streamed** (whole answer):',
    '',
    '| Path | p50 | p99 | added p50 | added p99 | n | errors |',
    '|---|---|---|---|---|---|---|',
    ...latencyRows(r.nonStreamed),
    '',
    '**Streamed: time to first token** (first chunk with content):',
    '',
    '| Path | p50 | p99 | added p50 | added p99 | n | errors |',
    '|---|---|---|---|---|---|---|',
    ...latencyRows(r.streamed.ttft),
    '',
    '**Streamed: time to the end of the stream**:',
    '',
    '| Path | p50 | p99 | added p50 | added p99 | n | errors |',
    '|---|---|---|---|---|---|---|',
    ...latencyRows(r.streamed.total),
    '',
  ];
  if (r.nonStreamed.added.P) {
    out.push(
      '| Igris added ÷ Portkey added | non-streamed p50 | non-streamed p99 | TTFT p50 | TTFT p99 |',
      '|---|---|---|---|---|',
    );
    for (const name of ['R', 'B'] as const) {
      if (!r.nonStreamed.added[name]) continue;
      out.push(
        `| ${name} ÷ P | ${ratio(r.nonStreamed, name, 'p50')} | ${ratio(r.nonStreamed, name, 'p99')} | ${ratio(r.streamed.ttft, name, 'p50')} | ${ratio(r.streamed.ttft, name, 'p99')} |`,
      );
    }
    out.push('');
  }
  const sat = r.saturation;
  if (sat) {
    out.push(
      `**Saturation** (non-streamed, ${sat.concurrency} concurrent, closed loop); CPU per answered call from /proc:`,
      '',
      '| Path | rps | Ratio to direct | errors | CPU ms/call: workerd | runtime host (node) | Portkey (node) | fake provider | load generator |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const name of ORDER) {
      const v = sat.rps[name];
      if (!v) continue;
      const c = sat.cpuMsPerCall[name] ?? {};
      out.push(
        `| ${name} | ${sp(v, 0)} | ${name === 'A' ? '1' : sp(sat.ratio[name])} | ${sat.errors[name] ?? 0} | ${ms(c.workerd)} | ${ms(c.wrangler)} | ${ms(c.portkey)} | ${ms(c.upstream)} | ${ms(c.loadgen)} |`,
      );
    }
    out.push('');
  }
  return out;
}
