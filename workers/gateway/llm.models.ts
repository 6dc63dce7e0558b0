/**
 * `GET /v1/models` (Igris style): the `@slug/model` entries the caller may use, in OpenAI's list
 * shape, without calling any provider. For each LLM connection the caller may use
 * (`connections:use`) the candidates are the models of its provider in the price table, those the
 * organization priced itself (`PUT /api/v1/llm/prices`) and the literal entries of its
 * `allowedModels`; a candidate is listed when `allowedModels` admits it and
 * the connection's policy could allow it for someone (the same test as MCP list filtering). The
 * call itself is still decided when it is made.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../app.types';
import { authenticateApiKey, unauthorized } from '../auth/api-key.auth';
import { mayUseConnection } from '../auth/permissions';
import { ensureBootstrapped } from '../bootstrap/bootstrap';
import { AppError, toAppError } from '../lib/errors';
import { llmErrorResponse } from '../llm/llm.errors';
import { PRICE_TABLE } from '../llm/llm.prices';
import { loadPriceOverrides } from '../llm/llm.prices.store';
import { couldEverAllow } from '../policy/policy.evaluate';
import { loadPolicy } from '../policy/policy.store';
import { readConnectionSettings } from '../shared/connection.settings';
import { allowedModelsMatcher } from '../shared/llm.allowed-models';
import { hasWildcard } from '../shared/policy.glob';
import { readIdentity } from './gateway.identity';
import { llmApiKey } from './llm.adapter';

interface LlmConnectionRow {
  id: string;
  slug: string;
  settings: string;
  created_by: string | null;
  enabled: number;
}

/** At most this many connections are listed (an organization's LLM connections, newest first). */
const MAX_CONNECTIONS = 100;

export async function listModels(c: Context<AppEnv>): Promise<Response> {
  const traceId = readIdentity(c.req.raw.headers).traceId;
  try {
    await ensureBootstrapped(c.env);
    const key = llmApiKey(c.req.raw);
    if (!key) throw unauthorized();
    const { principal, touch } = await authenticateApiKey(c.env.DB, key);
    if (touch) c.executionCtx.waitUntil(touch.catch(() => {}));
    const { results } = await c.env.DB.prepare(
      `SELECT id, slug, settings, created_by, enabled FROM connections
       WHERE org_id = ? AND type = 'llm' ORDER BY created_at DESC LIMIT ${MAX_CONNECTIONS}`,
    )
      .bind(principal.orgId)
      .all<LlmConnectionRow>();
    const overrides = await loadPriceOverrides(c.env.DB, principal.orgId);
    const data: Array<{ id: string; object: 'model'; created: number; owned_by: string }> = [];
    for (const row of results) {
      const settings = readConnectionSettings(JSON.parse(row.settings || '{}'));
      if (
        !row.enabled ||
        !mayUseConnection(principal, { createdBy: row.created_by, sharedWith: settings.sharedWith })
      ) {
        continue;
      }
      const policy = await loadPolicy(c.env, principal.orgId, row.id);
      const priced = Object.keys(overrides[settings.provider ?? ''] ?? {});
      for (const model of candidates(settings.provider, settings.allowedModels, priced)) {
        if (couldEverAllow(policy, model, { model })) {
          data.push({
            id: `@${row.slug}/${model}`,
            object: 'model',
            created: 0,
            owned_by: settings.provider ?? 'unknown',
          });
        }
      }
    }
    return c.json({ object: 'list', data });
  } catch (err) {
    const appErr = err instanceof AppError ? err : toAppError(err);
    return llmErrorResponse('openai', appErr, { traceId });
  }
}

function candidates(
  provider: string | undefined,
  allowedModels: readonly string[] | undefined,
  priced: readonly string[],
): string[] {
  const table = provider ? Object.keys(PRICE_TABLE.providers[provider]?.models ?? {}) : [];
  const literal = (allowedModels ?? []).filter((m) => !hasWildcard(m));
  const allowed = allowedModelsMatcher(allowedModels);
  return [...new Set([...literal, ...priced, ...table])].filter((m) => allowed === null || allowed(m)).sort();
}
