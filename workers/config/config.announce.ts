/**
 * Every successful management change under /api/v1 is a configuration change: after the route
 * has committed it, the organization's epoch is bumped and pushed to its guards before the API
 * answers (config.epoch.ts). One rule in one place, so a new route cannot forget to invalidate
 * what gateways cache. Reads change nothing; a refused request (4xx) changed nothing; a 5xx may
 * have committed part of a change, so it is announced too. Kill switches are pushed to the guards
 * by their own route (killswitch.push.ts) and are not cached by gateways, so they are left out.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app.types';
import { log } from '../lib/log';
import { announceConfigChange } from './config.epoch';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * POSTs that change nothing a gateway caches: dry runs and reads with a body (simulate, replay, a
 * detection test scan, a system-prompt preview, exports and verification), deliveries and tests of
 * notification channels, and kill switches (pushed to the guards by their own route).
 */
const NOT_CONFIGURATION =
  /\/(policy\/(simulate|replay)|detections\/scan|system-prompts\/preview|audit-events\/export|audit\/(verify|chain\/export)|alerts\/(channels\/[^/]+\/test|deliveries\/)|kill-switch)(\/|$)/;

export const announceConfigChanges = createMiddleware<AppEnv>(async function announceConfigChanges(c, next) {
  await next();
  if (READS.has(c.req.method)) return;
  const status = c.res.status;
  if (status >= 400 && status < 500) return;
  if (NOT_CONFIGURATION.test(new URL(c.req.url).pathname)) return;
  const orgId = c.get('principal')?.orgId;
  if (!orgId) return;
  try {
    await announceConfigChange(c.env, orgId);
  } catch (err) {
    // The change is committed; caches everywhere still expire within POLICY_CACHE_TTL_MS.
    log('error', 'configuration change not announced', { orgId, err });
  }
});
