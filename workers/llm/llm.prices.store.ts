/**
 * Organization price overrides (table `llm_prices`, `PUT /api/v1/llm/prices`): USD per 1M tokens
 * per provider and model, winning over the built-in table (llm.prices.ts `findPrice`). They are how
 * negotiated prices, self-hosted models and Azure deployments with custom names get a cost.
 *
 * `loadPriceOverrides` is what the gateway's cost stage calls; the rest serves the management API.
 * Every statement is scoped to one organization.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { iso } from '../lib/values';
import { COUNT_LIMITS, insertBelowCap, requireInserted } from '../shared/count.limits';
import { getProvider } from './llm.catalog';
import type { ModelPrice, PriceOverrides } from './llm.prices';

interface PriceDbRow {
  provider: string;
  model: string;
  input_per_mtok: number;
  cached_input_per_mtok: number | null;
  output_per_mtok: number;
  updated_by: string | null;
  updated_at: number;
}

export interface PriceOverrideInput {
  provider: string;
  model: string;
  inputPerMTok: number;
  cachedInputPerMTok?: number | null;
  outputPerMTok: number;
}

export interface PriceOverrideDto {
  provider: string;
  model: string;
  inputPerMTok: number;
  cachedInputPerMTok: number | null;
  outputPerMTok: number;
  updatedBy: string | null;
  updatedAt: string;
}

const SELECT = `SELECT provider, model, input_per_mtok, cached_input_per_mtok, output_per_mtok, updated_by,
  updated_at FROM llm_prices`;

function toModelPrice(row: PriceDbRow): ModelPrice {
  return {
    input: row.input_per_mtok,
    output: row.output_per_mtok,
    ...(row.cached_input_per_mtok === null ? {} : { cachedInput: row.cached_input_per_mtok }),
  };
}

function toDto(row: PriceDbRow): PriceOverrideDto {
  return {
    provider: row.provider,
    model: row.model,
    inputPerMTok: row.input_per_mtok,
    cachedInputPerMTok: row.cached_input_per_mtok,
    outputPerMTok: row.output_per_mtok,
    updatedBy: row.updated_by,
    updatedAt: iso(row.updated_at)!,
  };
}

/**
 * The organization's overrides in the shape `priceCall(provider, model, usage, overrides)` takes:
 * provider id → model name → price. An organization without overrides gets `{}`.
 */
export async function loadPriceOverrides(db: D1Database, orgId: string): Promise<PriceOverrides> {
  const { results } = await db.prepare(`${SELECT} WHERE org_id = ?`).bind(orgId).all<PriceDbRow>();
  const overrides: PriceOverrides = {};
  for (const row of results) {
    const models = overrides[row.provider] ?? {};
    models[row.model] = toModelPrice(row);
    overrides[row.provider] = models;
  }
  return overrides;
}

/** Every override of the caller's organization (any member may read prices: they are not secret). */
export async function listPriceOverrides(db: D1Database, principal: Principal): Promise<PriceOverrideDto[]> {
  requirePermission(principal, 'connections:read');
  const { results } = await db
    .prepare(`${SELECT} WHERE org_id = ? ORDER BY provider, model`)
    .bind(principal.orgId)
    .all<PriceDbRow>();
  return results.map(toDto);
}

function requireKnownProvider(id: string, location: 'body' | 'query'): void {
  if (getProvider(id)) return;
  throw new AppError('validation_failed', {
    details: {
      issues: [
        {
          location,
          path: 'provider',
          message: 'provider is not a provider of the catalog (GET /api/v1/llm/providers lists them)',
        },
      ],
    },
  });
}

/** Sets (inserts or replaces) one override; owners and admins (org:write), with an audit row. */
export async function putPriceOverride(
  db: D1Database,
  principal: Principal,
  input: PriceOverrideInput,
): Promise<PriceOverrideDto> {
  requirePermission(principal, 'org:write');
  requireKnownProvider(input.provider, 'body');
  const previous = await db
    .prepare(`${SELECT} WHERE org_id = ? AND provider = ? AND model = ?`)
    .bind(principal.orgId, input.provider, input.model)
    .first<PriceDbRow>();
  const cached = input.cachedInputPerMTok ?? null;
  // The same prices again: nothing is written, and no row records a change that did not happen.
  if (
    previous &&
    previous.input_per_mtok === input.inputPerMTok &&
    previous.cached_input_per_mtok === cached &&
    previous.output_per_mtok === input.outputPerMTok
  ) {
    return toDto(previous);
  }
  // Replacing an override already set takes no new place: not refused at the cap.
  const present = {
    sql: 'SELECT 1 FROM llm_prices WHERE org_id = ? AND provider = ? AND model = ?',
    binds: [principal.orgId, input.provider, input.model],
  };
  const [set] = await db.batch([
    insertBelowCap(
      db,
      COUNT_LIMITS.llmPrices,
      [principal.orgId],
      `INSERT INTO llm_prices (id, org_id, provider, model, input_per_mtok, cached_input_per_mtok, output_per_mtok,
           updated_by, updated_at)`,
      [
        randomId('prc'),
        principal.orgId,
        input.provider,
        input.model,
        input.inputPerMTok,
        cached,
        input.outputPerMTok,
        principal.actor,
        Date.now(),
      ],
      {
        orExisting: present,
        tail: `ON CONFLICT (org_id, provider, model) DO UPDATE SET input_per_mtok = excluded.input_per_mtok,
           cached_input_per_mtok = excluded.cached_input_per_mtok, output_per_mtok = excluded.output_per_mtok,
           updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      },
    ),
    adminAuditStatementIf(
      db,
      principal,
      {
        action: 'llm_price.set',
        details: {
          provider: input.provider,
          model: input.model,
          inputPerMTok: input.inputPerMTok,
          cachedInputPerMTok: cached,
          outputPerMTok: input.outputPerMTok,
          ...(previous ? { previous: toModelPrice(previous) } : {}),
        },
      },
      present,
    ),
  ]);
  requireInserted(set, COUNT_LIMITS.llmPrices);
  const row = await db
    .prepare(`${SELECT} WHERE org_id = ? AND provider = ? AND model = ?`)
    .bind(principal.orgId, input.provider, input.model)
    .first<PriceDbRow>();
  return toDto(row!);
}

/** Removes one override (the built-in price, if any, applies again); 404 when there is none. */
export async function deletePriceOverride(
  db: D1Database,
  principal: Principal,
  provider: string,
  model: string,
): Promise<void> {
  requirePermission(principal, 'org:write');
  const previous = await db
    .prepare(`${SELECT} WHERE org_id = ? AND provider = ? AND model = ?`)
    .bind(principal.orgId, provider, model)
    .first<PriceDbRow>();
  if (!previous) {
    throw new AppError('not_found', {
      message: 'Price override not found',
      details: { location: 'query', path: 'model' },
    });
  }
  await db.batch([
    db
      .prepare('DELETE FROM llm_prices WHERE org_id = ? AND provider = ? AND model = ?')
      .bind(principal.orgId, provider, model),
    adminAuditStatement(db, principal, {
      action: 'llm_price.delete',
      details: { provider, model, previous: toModelPrice(previous) },
    }),
  ]);
}
