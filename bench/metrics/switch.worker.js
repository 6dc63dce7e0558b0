/**
 * The product's Worker, unchanged, with a switch on its Prometheus metrics recording — for the
 * metrics suite only (bench/metrics.bench.ts runs it with `wrangler dev <this file>`; it is never
 * deployed). The product has no way to turn metrics off, on purpose: the counters are the
 * organization's scrape, not an option. So the switch is made here, from outside the product's code:
 *
 * - `MetricsRecorder.prototype.{call, findings, anomaly, raise}` (durable-objects/metrics.contract.ts:
 *   turning an audit row into metric deltas in the guard) and `MetricsOutbox.prototype.schedule`
 *   (durable-objects/metrics.outbox.ts: the batched, waitUntil'd RPC to the organization's
 *   MetricsHub) do nothing while the switch is off. The alert rules that feed the inbox still run.
 * - `GET /v1/__bench/metrics?on=1|0` sets the switch (omit `on` to read it) and answers how many
 *   rows were recorded and sends scheduled since the last `reset=1`: the proof that the switch
 *   reaches the guards (in workerd, a Durable Object class runs in the Worker's own isolate, so
 *   one module-level flag covers both).
 *
 * Plain JavaScript on purpose (like bench/breakdown/instrumented.worker.js): the bench's TypeScript
 * is type-checked for Node, and this file runs in workerd.
 */
import { MetricsRecorder } from '../../durable-objects/metrics.contract.ts';
import { MetricsOutbox } from '../../durable-objects/metrics.outbox.ts';
import worker from '../../workers/index.ts';

// Every Durable Object class the product exports, whatever they are today.
export * from '../../workers/index.ts';

let on = true;
const seen = { recorded: 0, scheduled: 0 };

function gate(proto, method, counter) {
  const real = proto[method];
  proto[method] = function (...args) {
    if (!on) return undefined;
    if (counter) seen[counter]++;
    return real.apply(this, args);
  };
}

gate(MetricsRecorder.prototype, 'call', 'recorded');
gate(MetricsRecorder.prototype, 'findings', null);
gate(MetricsRecorder.prototype, 'anomaly', null);
gate(MetricsRecorder.prototype, 'raise', null);
gate(MetricsOutbox.prototype, 'schedule', 'scheduled');

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/v1/__bench/metrics') {
      const want = url.searchParams.get('on');
      if (want !== null) on = want === '1';
      const answer = { on, ...seen };
      if (url.searchParams.get('reset') === '1') {
        seen.recorded = 0;
        seen.scheduled = 0;
      }
      return Response.json(answer);
    }
    return worker.fetch(request, env, ctx);
  },
  queue: worker.queue?.bind(worker),
  scheduled: worker.scheduled?.bind(worker),
};
