/**
 * `/api/v1` — the management API. Every route below `requireAuth` has a principal, and every
 * service function scopes its statements to the principal's organization.
 */
import { a2aApiRoutes } from '../a2a/a2a.api.routes';
import { a2aTasksRoutes } from '../a2a/a2a.tasks.routes';
import { alertsRoutes } from '../alerts/alerts.routes';
import { apiKeysRoutes } from '../apikeys/apikeys.routes';
import { createRouter } from '../app.factory';
import { approvalsRoutes } from '../approvals/approvals.routes';
import { auditRoutes } from '../audit/audit.routes';
import { budgetsRoutes } from '../budgets/budgets.routes';
import { announceConfigChanges } from '../config/config.announce';
import { connectionsRoutes } from '../connections/connections.routes';
import { eventsRoutes } from '../events/events.routes';
import { detectionsRoutes } from '../inspection/detections.routes';
import { integrityRoutes } from '../integrity/integrity.routes';
import { killSwitchRoutes } from '../killswitch/killswitch.routes';
import { langfuseRoutes } from '../langfuse/langfuse.routes';
import { llmApiRoutes } from '../llm/llm.api.routes';
import { metricsScrapeRoutes, metricsTokenRoutes } from '../metrics/metrics.routes';
import { notifyRoutes } from '../notify/notify.routes';
import { oauthAdminRoutes } from '../oauth/oauth.admin.routes';
import { upstreamOAuthApiRoutes } from '../oauth/upstream.api.routes';
import { xaaApiRoutes } from '../oauth/xaa.api.routes';
import { orgsRoutes } from '../orgs/orgs.routes';
import { policyRoutes } from '../policy/policy.routes';
import { promptsRoutes } from '../prompts/prompts.routes';
import { scansRoutes } from '../scans/scans.routes';
import { sessionsRoutes } from '../sessions/sessions.routes';
import { teamsRoutes } from '../teams/teams.routes';
import { tracingRoutes } from '../tracing/tracing.routes';
import { requireAuth } from './api.auth';
import { capApiBody } from './api.body-limit';
import { apiDocsResponse } from './api.docs';
import { withBodyCaps } from './api.openapi';

export const apiRoutes = createRouter();

const openApiDocument = () =>
  withBodyCaps(
    apiRoutes.getOpenAPI31Document({
      openapi: '3.1.0',
      info: { title: 'Igris Edge management API', version: '1.0.0' },
      servers: [{ url: '/api/v1' }],
    }),
    '/api/v1',
  );

// Public, before requireAuth: the machine-readable document and its browsable rendering.
apiRoutes.get('/openapi.json', (c) => c.json(openApiDocument()));
apiRoutes.get('/docs', () => apiDocsResponse(openApiDocument()));

// Scrapes authenticate a scraper token themselves (or fall back to requireAuth): before the middleware.
apiRoutes.route('/', metricsScrapeRoutes);
apiRoutes.use('*', requireAuth);
// After requireAuth (an anonymous caller gets no body read at all), before any route's validator:
// one streamed byte cap per route (api.body-limit.ts).
apiRoutes.use('*', capApiBody);
// After requireAuth (it needs the principal): a committed change invalidates gateways' caches.
apiRoutes.use('*', announceConfigChanges);
apiRoutes.route('/', connectionsRoutes);
apiRoutes.route('/', integrityRoutes);
apiRoutes.route('/', scansRoutes);
apiRoutes.route('/', a2aApiRoutes);
apiRoutes.route('/', a2aTasksRoutes);
apiRoutes.route('/', policyRoutes);
apiRoutes.route('/', apiKeysRoutes);
apiRoutes.route('/', orgsRoutes);
apiRoutes.route('/', auditRoutes);
apiRoutes.route('/', eventsRoutes);
apiRoutes.route('/', sessionsRoutes);
apiRoutes.route('/', killSwitchRoutes);
apiRoutes.route('/', llmApiRoutes);
apiRoutes.route('/', teamsRoutes);
apiRoutes.route('/', budgetsRoutes);
apiRoutes.route('/', promptsRoutes);
apiRoutes.route('/', metricsTokenRoutes);
apiRoutes.route('/', detectionsRoutes);
// Channels before the inbox: `/alerts/channels…` are not alert ids.
apiRoutes.route('/', notifyRoutes);
apiRoutes.route('/', alertsRoutes);
apiRoutes.route('/', tracingRoutes);
apiRoutes.route('/', langfuseRoutes);
apiRoutes.route('/', approvalsRoutes);
apiRoutes.route('/', oauthAdminRoutes);
apiRoutes.route('/', xaaApiRoutes);
apiRoutes.route('/', upstreamOAuthApiRoutes);
