/**
 * ConnectionGuard — one per (organization, connection), reached with `guardFor(env, orgId, connectionId)`
 * (do.client.ts); its contract with the Worker is guard.contract.ts.
 *
 * It is the single Durable Object round trip on the gateway's hot path. `admit()` is called once
 * per gateway request, after the policy decision, and in that one call it decides the kill switch
 * and the rate windows and records the decision in the durable audit spool before the gateway
 * answers (no acknowledged call loses its row). The agent session's live state and the anomaly
 * detectors live here too, so one round trip decides everything that must be consistent *now*.
 *
 * Sharding: one object per connection keeps any single object off the path of every call in an
 * organization; a connection's own calls are serialized here, which is what makes its rate windows exact.
 *
 * State, and where it comes from:
 *   - kill switches: memory. Loaded from D1 (`kill_switches`, active, of this org, through
 *     workers/shared/killswitch.store.ts; kept if kill.match says they concern it) once when the
 *     object starts, inside blockConcurrencyWhile, so no call is decided before they are known; then
 *     pushed by the API (applyKill / liftKill) to the guards holding a lease before it answers — a
 *     push that comes before that load is kept for it. Re-read from D1 when the lease lapsed and every
 *     RESYNC_MS (a push that failed) — never from KV. Held by kill.held.ts.
 *   - the configuration epoch: memory; read with the kill switches, pushed by the API while the
 *     guard holds a lease (guard.lease.ts: taken with that read, renewed by the re-read). A guard
 *     whose lease lapsed reads again before its next decision.
 *   - who created each task and first used each A2A context, which minted server-request ids
 *     were answered: SQLite (guard.ownership.ts).
 *   - rate windows, anomaly counts and cooldowns, session counters: SQLite (survive eviction).
 *   - anomaly settings: the connection's `settings.anomaly`, read from D1 with the kill switches
 *     (so a settings change reaches a warm guard within RESYNC_MS). The D1 read is guard.state.ts,
 *     when it is made (first load, lapsed lease, re-read) guard.sync.ts;
 *     the metrics, alerts and anomalies of decided rows are guard.observe.ts.
 *
 * Failure mode: decided by the caller per connection (`settings.failMode`, default 'closed': the
 * call is refused with 503 `guard_unavailable`); see docs/security-model.md. A guard that cannot
 * read its kill switches from D1 when it starts fails its calls rather than guess.
 */
import { DurableObject } from 'cloudflare:workers';
import { log } from '../workers/lib/log';
import { AnomalyDetector } from './anomaly.detect';
import { chainName } from './audit.chain';
import { SpoolScheduler } from './audit.scheduler';
import { eventHubFor, metricsHubFor, sessionFactsFor } from './do.client';
import {
  type AdmitRequest,
  type AdmitResult,
  type CallOutcome,
  type GuardSessionSnapshot,
  type GuardTarget,
  MAX_OUTCOMES_PER_CALL,
  type PendingOutcome,
  type WatchNotice,
  type WatchRequest,
} from './guard.contract';
import { GuardEvents } from './guard.events';
import { GuardObserver } from './guard.observe';
import { GuardOwnership } from './guard.ownership';
import { refuseByVerdict } from './guard.refusals';
import { GuardSync } from './guard.sync';
import { HeldKills } from './kill.held';
import type { KillRecord } from './kill.match';
import { killNotice } from './kill.watchers';
import { rowFindings } from './metrics.contract';
import { MetricsOutbox } from './metrics.outbox';
import { rateOwner } from './rate.bound';
import { RateWindows } from './rate.window';
import { SessionRecord } from './session.record';
import { SessionTaint } from './session.taint';

export { RESYNC_MS } from './guard.sync';
export { WATCH_TTL_MS } from './kill.watchers';

export class ConnectionGuard extends DurableObject<Env> {
  readonly #audit: SpoolScheduler;
  readonly #rates: RateWindows;
  readonly #session: SessionRecord;
  readonly #taint: SessionTaint;
  /** Who created each task and first used each A2A context here (guard.ownership.ts). */
  readonly #owners: GuardOwnership;
  /** Metric deltas for the organization's MetricsHub, sent off the hot path (metrics.outbox.ts). */
  readonly #metrics: MetricsOutbox;
  /** Live events for the organization's EventHub, sent off the hot path (guard.events.ts). */
  readonly #events: GuardEvents;
  /** Metrics, alerts and anomalies of the rows decided here (guard.observe.ts). */
  readonly #observer: GuardObserver;
  /** Whose hub the metrics go to: known from the first admit, or from a row when complete() comes first. */
  #metricsTarget: GuardTarget | null = null;
  /** The kill switches held, their watches, and pushes kept for the first load (kill.held.ts). */
  readonly #kills = new HeldKills();
  /** Identity, D1 loads and re-reads, the lease and the configuration epoch (guard.sync.ts). */
  readonly #sync: GuardSync;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#audit = new SpoolScheduler(ctx.storage, env, 'ConnectionGuard', chainName('ConnectionGuard', ctx));
    this.#rates = new RateWindows(ctx.storage.sql);
    const anomalies = new AnomalyDetector(ctx.storage.sql, Date.now());
    this.#session = new SessionRecord(ctx.storage.sql);
    this.#owners = new GuardOwnership(ctx.storage.sql);
    // Facts of linked agent sessions go to the organization's store too, never awaited by admit.
    this.#taint = new SessionTaint(ctx.storage.sql, (orgId, session, facts) =>
      ctx.waitUntil(
        sessionFactsFor(env, orgId, session)
          .record(facts)
          .catch((err) => log('warn', 'session facts not shared', { err })),
      ),
    );
    this.#events = new GuardEvents(
      (p) => ctx.waitUntil(p),
      (orgId) => eventHubFor(env, orgId),
    );
    this.#metrics = new MetricsOutbox(
      (p) => ctx.waitUntil(p),
      () => metricsHubFor(env, this.#metricsTarget!.orgId),
      () => {
        const { rows, oldestMs } = this.#audit.spool.backlog();
        const source = this.#metricsTarget!.connectionId;
        return { source, backlog: rows, oldestUnflushedSeconds: oldestMs / 1000 };
      },
    );
    this.#observer = new GuardObserver(anomalies, this.#audit.spool, this.#metrics, this.#events);
    this.#sync = new GuardSync(ctx, env.DB, this.#kills, (anomaly) => {
      this.#observer.anomalySettings = anomaly;
    });
  }

  async admit(request: AdmitRequest): Promise<AdmitResult> {
    const sync = this.#sync;
    const identity = await sync.ready(request, true);
    const { sessionId } = identity;
    const now = Date.now();
    // Earlier calls' outcomes riding on this round trip (gateway.outcome.batch.ts): applied first,
    // whatever this call's verdict, and written in the same transaction as its rows.
    if (request.outcomes?.length) this.#completeAll(request.outcomes);
    // Decided on data older than a management change: nothing is recorded or counted; the gateway
    // re-reads and comes back (workers/config/config.epoch.ts).
    if (request.configEpoch !== undefined) {
      if (request.configEpoch < sync.configEpoch) {
        if (request.outcomes?.length) await this.#audit.arm();
        return { verdict: 'stale', sessionId, configEpoch: sync.configEpoch };
      }
      sync.learnEpoch(request.configEpoch);
    }

    const kill = this.#kills.matching(identity, request.caller);
    let result: AdmitResult = { verdict: 'admit', sessionId };
    // Taint before the rate windows: a call refused for its session's history counts against none.
    const hit = !kill && !request.final && request.taint ? this.#taint.verdict(request.taint, now) : null;
    const held = hit?.held ?? null;
    // Before the rate windows: a call refused for naming a task or context not its own counts against none.
    const owned = kill || hit ? null : this.#owners.refusal(request, now);
    if (kill) {
      result = { verdict: 'killed', sessionId, scope: kill.scope, reason: kill.reason };
    } else if (hit?.approve) {
      // Tainted under `onTaint: "approve"`: the gateway holds the call for an approver (or spends
      // its approval) and comes back; nothing is recorded or counted now.
      if (request.outcomes?.length) await this.#audit.arm();
      return { verdict: 'tainted', sessionId, ruleIndex: hit.ruleIndex, held: hit.held, approval: true };
    } else if (hit) {
      result = { verdict: 'tainted', sessionId, ruleIndex: hit.ruleIndex, held: hit.held };
    } else if (owned) {
      result = { ...owned, sessionId };
    } else if (!request.final) {
      const rate = this.#rates.admit(request.rateChecks, now, rateOwner(request.caller));
      if (!rate.ok) {
        const { ok: _, ...figures } = rate;
        result = { verdict: 'rate_limited', sessionId, ...figures };
      }
    }
    if (result.verdict === 'admit' && !request.final && request.taint) {
      this.#taint.add(request.taint, now, request.orgId);
    }
    const listed = result.verdict === 'admit' ? this.#owners.admitted(request, now) : null;
    if (listed) result = { ...result, ...listed };

    const final = request.final || result.verdict !== 'admit';
    for (const row of request.audit) {
      row.sessionId = sessionId;
      refuseByVerdict(row, result, kill, held);
      this.#audit.spool.put(row, final);
      if (final) {
        this.#events.call(row);
        this.#observer.observe(row, rowFindings(row), { call: true, now });
      }
    }
    this.#metricsTarget = identity;
    this.#metrics.schedule();

    this.#session.seen(identity, request.caller, now);
    this.#observer.detectAnomalies(request.audit, now);
    await this.#audit.arm();
    sync.maybeResync(now);
    return result;
  }

  /**
   * The outcome of an admitted call (status, latency, findings), merged into its row. Called off
   * the hot path via waitUntil. An outcome with only findings is a streamed answer's late findings:
   * the call's event was already published, so they go out as a `findings` event of their own.
   * An LLM call's actual tokens (`outcome.tokens`) are added to its token windows, once per call.
   */
  async complete(eventId: string, outcome: CallOutcome): Promise<void> {
    this.#completeOne(eventId, outcome);
    await this.#audit.arm();
  }

  /** Several outcomes in order, in one round trip and one transaction (gateway.outcome.batch.ts). */
  async completeMany(outcomes: PendingOutcome[]): Promise<void> {
    this.#completeAll(outcomes);
    await this.#audit.arm();
  }

  #completeAll(outcomes: readonly PendingOutcome[]): void {
    for (const { eventId, outcome } of outcomes.slice(0, MAX_OUTCOMES_PER_CALL))
      this.#completeOne(eventId, outcome);
  }

  #completeOne(eventId: string, outcome: CallOutcome): void {
    const row = this.#audit.spool.complete(eventId, outcome);
    const { tokens } = outcome; // charged to the call's owner, as its admit was (rate.bound.ts)
    if (tokens) {
      const owner = rateOwner({ apiKeyId: row?.apiKeyId ?? null, actor: row?.actor });
      this.#rates.recordTokens(eventId, tokens.checks, tokens.used, Date.now(), owner);
    }
    if (row) this.#owners.claimFrom(row, outcome.findings, Date.now());
    const lateFindings = outcome.upstreamStatus === undefined && outcome.latencyMs === undefined;
    if (row && lateFindings && outcome.findings?.length) {
      this.#events.findings(row, outcome.findings);
      this.#observer.observe(row, outcome.findings, { call: false });
    } else if (row) {
      this.#events.call(row);
      this.#observer.observe(row, rowFindings(row), { call: true, gatewayMs: outcome.gatewayMs });
    }
    if (row?.orgId && row.connectionId)
      this.#metricsTarget ??= { orgId: row.orgId, connectionId: row.connectionId };
    if (this.#metricsTarget) this.#metrics.schedule();
  }

  /** A management change was committed (announceConfigChange calls this before the API answers). */
  async configChanged(_target: GuardTarget, epoch: number): Promise<void> {
    // Not ready(): a guard that has not decided a call yet (or whose lease lapsed) reads its state
    // and the epoch from D1 at its next admit anyway.
    this.#sync.learnEpoch(epoch);
  }

  /**
   * A kill switch was pulled (the API calls this before it answers). Idempotent. A guard that has
   * not loaded yet (never called, or evicted) keeps it for its load rather than read D1 now: waking
   * every cold guard of an organization would put a D1 read each on the API's critical path, and
   * the first call loads anyway — then holds what was pushed on top of what it read, so a record
   * the API has not committed yet cannot be missed.
   */
  async applyKill(target: GuardTarget, kill: KillRecord): Promise<void> {
    if (!this.#sync.identity) {
      this.#sync.checkName(target);
      this.#kills.pushedBeforeLoad.set(kill.id, kill);
      return;
    }
    this.#kills.push(kill, await this.#sync.ready(target));
  }

  /** A kill switch was lifted (committed before the push: a cold guard's load reads it lifted). Idempotent. */
  async liftKill(target: GuardTarget, killSwitchId: string): Promise<void> {
    if (!this.#sync.identity) {
      this.#sync.checkName(target);
      this.#kills.pushedBeforeLoad.delete(killSwitchId);
      return;
    }
    await this.#sync.ready(target);
    this.#kills.lift(killSwitchId);
  }

  /**
   * Resolves with a KillNotice when a matching kill switch holds, or a ConfigNotice when the guard
   * knows an epoch newer than the request's `configEpoch` — at once if it already does (nothing
   * between the stream's admit and its watch is missed) — else null when withdrawn (`unwatch`: the
   * stream ended first) or after WATCH_TTL_MS (the gateway watches again; the TTL bounds what a
   * vanished gateway leaves behind). kill.watchers.ts.
   */
  async watchKill(request: WatchRequest): Promise<WatchNotice | null> {
    const identity = await this.#sync.ready(request, true);
    // An open stream keeps the lease (it is renewed every WATCH_TTL_MS < LEASE_MS / 2): a change
    // made while it is open must be pushed here to wake it.
    this.#sync.maybeResync(Date.now(), true);
    const holding = this.#kills.matching(identity, request.caller);
    if (holding) return killNotice(holding);
    const { configEpoch } = request;
    if (configEpoch !== undefined && configEpoch < this.#sync.configEpoch) {
      return { configEpoch: this.#sync.configEpoch };
    }
    return this.#kills.watchers.wait(request.watchId, request.caller, configEpoch);
  }

  /** Withdraws a watch (its stream ended). Unknown ids are fine: it may have just resolved. */
  async unwatch(watchId: string): Promise<void> {
    this.#kills.watchers.withdraw(watchId);
  }

  /** The live session state and what holds it, for GET /api/v1/sessions/:id. */
  async sessionSnapshot(target: GuardTarget): Promise<GuardSessionSnapshot> {
    const identity = await this.#sync.ready(target);
    return {
      session: this.#session.snapshot(),
      holds: this.#kills.holdingSession(identity),
    };
  }

  /** Pending watches (observability, and the tests' proof that they don't leak). */
  async watcherCount(): Promise<number> {
    return this.#kills.watchers.size;
  }

  override async alarm(): Promise<void> {
    await this.#audit.onAlarm();
    try {
      await this.#session.flush(this.env.DB);
    } catch (err) {
      log('warn', 'agent session not recorded; will retry', { err });
      // Through the spool's scheduler, which owns the object's one alarm and remembers its time.
      await this.#audit.armAt(Date.now() + 5_000);
    }
    this.#rates.prune(Date.now());
    this.#owners.prune(Date.now());
  }
}
