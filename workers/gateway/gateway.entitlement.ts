/**
 * May an open stream go on after a management change? An SSE answer outlives the call that was
 * admitted, so revoking its key, disabling or deleting its connection, removing its member or
 * lowering their role must reach it too, not only the next call. The stream's guard watch
 * (workers/killswitch/killswitch.stream.ts) resolves when the guard learns a configuration epoch
 * newer than the one the call was decided on (docs/architecture.md, "the configuration epoch");
 * the stream then asks here, and ends with the error a new call would get if the answer is no.
 *
 * The question is steps 1–2 of the call core again (gateway.prepare.ts): the same caller lookup
 * (authenticateGatewayCaller: isolate cache, else one D1 query), the same connection and
 * `connections:use` checks, and the connection must still be the one the stream was opened on.
 *
 * Cost, with many open streams: nothing until an epoch moves. Then one answer per (credential,
 * connection slug, protocol, epoch) per isolate: streams woken by the same change share it (the
 * D1 read, when the isolate cache no longer holds the caller, is made once), and it is kept for
 * later streams of the same epoch — the answer for an epoch cannot change, since every change
 * moves the epoch. An entitled caller's read also refills the cache the next calls use.
 *
 * Fail mode, when the question cannot be answered (D1 unreachable): the connection's `failMode`,
 * like its guard. `closed` (the default) ends the stream with the error; `open` keeps it and asks
 * again a second later (docs/security-model.md).
 */
import type { Finding } from '../../durable-objects/guard.contract';
import { hashApiKey } from '../auth/api-key.crypto';
import { learnEpoch } from '../config/config.epoch';
import type { Recheck, StreamWatch } from '../killswitch/killswitch.stream';
import { boundedSet } from '../lib/bounded.map';
import { type AppError, toAppError } from '../lib/errors';
import { log } from '../lib/log';
import { authenticateGatewayCaller } from '../oauth/oauth.gateway';
import type { ParsedRequest, ProtocolAdapter } from './gateway.adapter';
import type { HashedKey } from './gateway.callers';
import { connectionNotFound, type ResolvedConnection, requireUsableConnection } from './gateway.connection';
import type { CallState, GatewayContext } from './gateway.prepare';

/**
 * The watch of an admitted call's SSE answer (killswitch.stream.ts): what a kill switch matches
 * on, the epoch the call was decided on, how the stream re-validates its caller after a newer one,
 * and `record`, told the finding to add to the call's audit row when the caller may no longer call.
 */
export function streamWatch<U, P extends ParsedRequest<U>>(
  c: GatewayContext,
  adapter: ProtocolAdapter<U, P>,
  state: CallState<P>,
  connection: ResolvedConnection,
  stop: AbortController,
  record: (finding: Finding) => void,
): StreamWatch {
  // Built only when a stream is re-validated: every response passes here, most are not streams.
  const caller = (): StreamCaller => ({
    env: c.env,
    requestUrl: c.req.url,
    protocol: adapter.protocol,
    // Read again from the request: the call was authenticated with it, so it is there.
    credential: adapter.readApiKey(c.req.raw) ?? '',
    key: state.key,
    slug: state.slug,
    connectionType: adapter.connectionType,
    connection,
  });
  return {
    orgId: connection.orgId,
    connectionId: connection.id,
    caller: { apiKeyId: state.principal?.apiKeyId ?? null, user: state.identity?.user ?? null },
    requestId: adapter.replyId(state.parsed),
    traceId: state.traceId,
    lastWords: (err) => adapter.endedStreamText(state.parsed, state.traceId, err),
    stop,
    configEpoch: state.configEpoch,
    recheck: (epoch) => recheckStream(caller(), epoch),
    onRevoked: (err) => {
      log('info', 'open stream ended: its caller may no longer call', {
        connectionId: connection.id,
        code: err.code,
        traceId: state.traceId,
      });
      record(revokedFinding(err));
    },
  };
}

/** Records a finding made after the call's outcome was sent (an ended stream): sent on its own. */
export function recordLate(
  findings: Finding[],
  outcomes: { lateFindings(): void },
): (finding: Finding) => void {
  return (finding) => {
    findings.push(finding);
    outcomes.lateFindings();
  };
}

/** The audit row's record of a stream ended for its caller's lost entitlement (the error a call would get). */
function revokedFinding(err: AppError): Finding {
  return { stage: 'entitlement', kind: 'stream_revoked', severity: 'high', detail: { code: err.code } };
}

export interface StreamCaller {
  env: Env;
  /** The stream's request URL (an OAuth token's audience is judged against it). */
  requestUrl: string;
  protocol: string;
  /** The key or OAuth access token the stream was opened with. */
  credential: string;
  /** The `ig_` key with its hash as the call authenticated it (null: an OAuth token). */
  key?: HashedKey | null;
  slug: string;
  /** The connection type the route serves (an MCP route never streams from an LLM connection). */
  connectionType: ResolvedConnection['type'];
  connection: ResolvedConnection;
}

/** Answers per (epoch, protocol, slug, credential hash): at most this many kept per isolate. */
const ANSWERS_LIMIT = 2_000;
const answers = new Map<string, Promise<Recheck>>();

/** Re-validates a stream's caller against the configuration of `epoch` (or newer). */
export async function recheckStream(caller: StreamCaller, epoch: number): Promise<Recheck> {
  // Entries tagged older than `epoch` stop being used in this isolate: the read below is fresh.
  learnEpoch(caller.connection.orgId, epoch);
  const hash = caller.key?.key === caller.credential ? caller.key.hash : await hashApiKey(caller.credential);
  const key = `${epoch}\u0000${caller.protocol}\u0000${caller.slug}\u0000${hash}`;
  const known = answers.get(key);
  if (known) return known;
  const answer = judge(caller, epoch);
  boundedSet(answers, key, answer, ANSWERS_LIMIT);
  // "Could not tell" is not an answer for the epoch: the next stream (or retry) asks again.
  void answer.then((a) => {
    if (a.entitled === null && answers.get(key) === answer) answers.delete(key);
  });
  return answer;
}

async function judge(caller: StreamCaller, epoch: number): Promise<Recheck> {
  const { env, connection } = caller;
  try {
    const resolved = await authenticateGatewayCaller(
      env,
      caller.requestUrl,
      caller.protocol,
      caller.credential,
      caller.slug,
      caller.key,
    );
    // Read on data older than the change that woke the stream (a lagging read): not an answer.
    if (resolved.configEpoch < epoch) return { entitled: null };
    const now = resolved.connection;
    if (!now || now.id !== connection.id || now.type !== caller.connectionType) throw connectionNotFound();
    requireUsableConnection(resolved.auth.principal, now);
    return { entitled: true, configEpoch: resolved.configEpoch };
  } catch (err) {
    const error = toAppError(err);
    // A 4xx is the answer a new call would get: this caller may no longer call.
    if (error.status < 500) return { entitled: false, error };
    log('warn', 'open stream could not be re-validated after a configuration change', {
      connectionId: connection.id,
      failMode: connection.settings.failMode,
      err,
    });
    return connection.settings.failMode === 'open' ? { entitled: null } : { entitled: false, error };
  }
}
