/**
 * `/api/v1` — the management API. Every route below `requireAuth` has a principal, and every
 * service function scopes its statements to the principal's organization.
 */
import { createRouter } from '../app.factory';
import { connectionsRoutes } from '../connections/connections.routes';
import { policyRoutes } from '../policy/policy.routes';
import { requireAuth } from './api.auth';

export const apiRoutes = createRouter();

apiRoutes.get('/openapi.json', (c) =>
  c.json(
    apiRoutes.getOpenAPI31Document({
      openapi: '3.1.0',
      info: { title: 'Igris Edge management API', version: '1.0.0' },
      servers: [{ url: '/api/v1' }],
    }),
  ),
);

apiRoutes.use('*', requireAuth);
apiRoutes.route('/', connectionsRoutes);
apiRoutes.route('/', policyRoutes);
