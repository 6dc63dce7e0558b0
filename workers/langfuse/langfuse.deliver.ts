/**
 * The queue consumer's Langfuse half (docs/observability.md#langfuse): the `langfuse` messages of
 * a queue batch, grouped by organization, each group sent as ONE ingestion batch —
 * `POST <host>/api/public/ingestion`, Basic auth `<publicKey>:<secretKey>` — to that
 * organization's own project, read from D1 here (one read per organization per batch, off every
 * call's path). A message is only ever sent to the project of the organization it names, which
 * the gateway set from the call's connection.
 *
 * Langfuse answers 207 with per-event `successes` and `errors`: a 2xx is done (event errors are
 * logged — a malformed event does not get better by resending; the answer is read only up to
 * REMOTE_BODY_LIMITS.ingestionAnswer, lib/http.bounded.ts). 401/403/400 are not retried
 * either (wrong keys or host: logged). 429, 5xx, a timeout or a network error: retried with the
 * notification backoff, at most MAX_ATTEMPTS times, then dropped with a log line. With no project
 * (deleted, or disabled since the call), the messages are dropped.
 */
import type { IngestionResponse } from '@langfuse/core';
import { echoRemote } from '../lib/echo.remote';
import { AppError } from '../lib/errors';
import { REMOTE_BODY_LIMITS, readRemoteText } from '../lib/http.bounded';
import { log } from '../lib/log';
import { iso, isRecord } from '../lib/values';
import { backoffSeconds } from '../notify/notify.format';
import { getVault } from '../vault/vault.crypto';
import { ingestionBatch, type LangfuseGeneration, readLangfuseMessage } from './langfuse.event';
import { checkedHost, type LangfuseEnv, langfuseAad, readLangfuse } from './langfuse.settings';

const SEND_TIMEOUT_MS = 10_000;
const MAX_ATTEMPTS = 6;
/** Characters of a Langfuse refusal's message a log line shows. */
const REFUSAL_MESSAGE_CHARS = 200;

type DeliverEnv = LangfuseEnv & Pick<Env, 'NOTIFY_RETRY_BASE_SECONDS'>;

type Outcome = 'done' | 'retry';

/**
 * Langfuse's answer to an accepted batch: read (at most REMOTE_BODY_LIMITS.ingestionAnswer) only
 * to log the events it refused. An answer that is not JSON, or longer than that, is not read
 * further; the batch was accepted all the same (a retry would send it twice).
 */
async function ingestionAnswer(response: Response, orgId: string): Promise<IngestionResponse | null> {
  try {
    const text = await readRemoteText(response, REMOTE_BODY_LIMITS.ingestionAnswer, 'Langfuse answer');
    return JSON.parse(text) as IngestionResponse;
  } catch (err) {
    if (err instanceof AppError) log('warn', 'Langfuse answer too large to read; not read', { orgId });
    return null;
  }
}

/** One organization's generations to its project. */
export async function sendToLangfuse(
  env: DeliverEnv,
  orgId: string,
  generations: LangfuseGeneration[],
): Promise<Outcome> {
  const settings = await readLangfuse(env.DB, orgId);
  if (settings?.enabled !== 1) return 'done';
  const host = checkedHost(env, settings.host);
  if (typeof host === 'string') {
    log('warn', 'Langfuse host refused by the URL rules; LLM calls dropped', { orgId, rule: host });
    return 'done';
  }
  const secret = await (await getVault(env)).decrypt(settings.secret_ciphertext, langfuseAad(orgId));
  const body = ingestionBatch(generations, iso(Date.now())!);
  let response: Response;
  try {
    response = await fetch(`${settings.host}/api/public/ingestion`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${btoa(`${settings.public_key}:${secret}`)}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
  } catch (err) {
    log('warn', 'Langfuse unreachable; retrying', { orgId, err: (err as Error).name });
    return 'retry';
  }
  if (response.status >= 200 && response.status < 300) {
    const result = await ingestionAnswer(response, orgId);
    if (result && Array.isArray(result.errors) && result.errors.length > 0) {
      // Langfuse's text, which may quote what it was sent (the keys): echo-safe, without them.
      const sent = [secret, settings.public_key, btoa(`${settings.public_key}:${secret}`)];
      log('warn', 'Langfuse refused some events', {
        orgId,
        errors: (result.errors as unknown[]).slice(0, 5).map((e) =>
          isRecord(e)
            ? {
                status: typeof e.status === 'number' ? e.status : null,
                message: echoRemote(e.message, sent, REFUSAL_MESSAGE_CHARS),
              }
            : null,
        ),
      });
    }
    return 'done';
  }
  await response.body?.cancel();
  if (response.status === 429 || response.status >= 500) {
    log('warn', 'Langfuse answered an error; retrying', { orgId, status: response.status });
    return 'retry';
  }
  log('warn', 'Langfuse refused the batch (keys or host?); LLM calls dropped', {
    orgId,
    status: response.status,
  });
  return 'done';
}

/** The `langfuse` messages of a queue batch (workers/index.ts hands them here). */
export async function handleLangfuseMessages(
  messages: readonly Message<unknown>[],
  env: DeliverEnv,
): Promise<void> {
  const byOrg = new Map<string, { messages: Message<unknown>[]; generations: LangfuseGeneration[] }>();
  for (const message of messages) {
    const parsed = readLangfuseMessage(message.body);
    if (!parsed) {
      log('warn', 'Langfuse queue message dropped: unreadable', { id: message.id });
      message.ack();
      continue;
    }
    const group = byOrg.get(parsed.orgId) ?? { messages: [], generations: [] };
    group.messages.push(message);
    group.generations.push(parsed.generation);
    byOrg.set(parsed.orgId, group);
  }
  for (const [orgId, group] of byOrg) {
    let outcome: Outcome;
    try {
      outcome = await sendToLangfuse(env, orgId, group.generations);
    } catch (err) {
      log('error', 'Langfuse delivery failed; retrying', { orgId, err });
      outcome = 'retry';
    }
    for (const message of group.messages) {
      if (outcome === 'done') message.ack();
      else if (message.attempts >= MAX_ATTEMPTS) {
        log('warn', 'Langfuse delivery given up after retries; LLM call dropped', { orgId, id: message.id });
        message.ack();
      } else {
        const base = Number(env.NOTIFY_RETRY_BASE_SECONDS ?? '30');
        message.retry({ delaySeconds: backoffSeconds(message.attempts, Number.isFinite(base) ? base : 30) });
      }
    }
  }
}
