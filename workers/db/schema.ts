/**
 * The D1 schema — the single source for every table. `npm run db:generate` (drizzle-kit) writes
 * the SQL migrations in `migrations/` from the files re-exported here; an applied migration is never edited.
 *
 * Every tenant-owned table carries `org_id`, and every query in the code filters on it
 * (services take the caller's Principal and bind `principal.orgId`): that column is what tenant
 * isolation rests on, and test/workerd/tenancy.test.ts checks it for every resource.
 */

export * from './a2a.schema';
export * from './access.schema';
export * from './core.schema';
export * from './governance.schema';
export * from './integrity.schema';
export * from './oauth.schema';
export * from './observability.schema';
