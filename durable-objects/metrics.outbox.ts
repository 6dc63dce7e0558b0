/**
 * A guard's metrics outbox: deltas accumulate in memory (MetricsRecorder) and leave in batches,
 * one RPC in flight at a time, through `waitUntil` — never awaited by admit/complete, so the hub
 * is never on a call's path. While a batch is in flight, new deltas merge into the next one.
 *
 * A failed send cannot tell whether the hub applied the batch, so the batch is resent as is, with
 * its id, and the hub's memory of applied ids makes the resend count once. A batch still refused
 * after MAX_ATTEMPTS is dropped (logged): the counters undercount, they never go backwards.
 */
import { log } from '../workers/lib/log';
import type { MetricsBatch, SpoolHealth } from './metrics.contract';
import { MetricsRecorder } from './metrics.contract';

/** Deltas wait this long before a send, so a burst of calls travels in one batch. */
export const METRICS_FLUSH_MS = 1_000;
/** A batch the hub did not take is retried this many times (then dropped, logged). */
const MAX_ATTEMPTS = 5;

interface Sender {
  record(batch: MetricsBatch): Promise<void>;
}

export class MetricsOutbox {
  readonly recorder = new MetricsRecorder();
  readonly #waitUntil: (p: Promise<unknown>) => void;
  readonly #hub: () => Sender;
  readonly #health: () => SpoolHealth | undefined;
  #sending = false;

  constructor(
    waitUntil: (p: Promise<unknown>) => void,
    hub: () => Sender,
    health: () => SpoolHealth | undefined,
  ) {
    this.#waitUntil = waitUntil;
    this.#hub = hub;
    this.#health = health;
  }

  /** Call after recording: schedules a send unless one is already on its way. */
  schedule(): void {
    if (this.#sending || this.recorder.size === 0) return;
    this.#sending = true;
    this.#waitUntil(this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.recorder.size > 0) {
        await new Promise((resolve) => setTimeout(resolve, METRICS_FLUSH_MS));
        const batch: MetricsBatch = {
          id: crypto.randomUUID(),
          counters: this.recorder.take(),
          health: this.#health(),
        };
        const alerts = this.recorder.takeAlerts();
        if (alerts.length > 0) batch.alerts = alerts;
        await this.#send(batch);
      }
    } finally {
      this.#sending = false;
    }
  }

  async #send(batch: MetricsBatch): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      try {
        await this.#hub().record(batch);
        return;
      } catch (err) {
        if (attempt === MAX_ATTEMPTS) {
          log('warn', 'metrics batch dropped after retries', {
            err,
            series: Object.keys(batch.counters).length,
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    }
  }
}
