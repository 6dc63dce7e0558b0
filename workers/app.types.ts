import type { Role } from './db/schema';

/**
 * Who is calling, once authenticated. API keys and (human) session cookies both resolve to this,
 * so the permission matrix (workers/auth/permissions.ts) applies to both identically.
 */
export interface Principal {
  /** `oauth`: an access token from our authorization server, acting as the member who consented (docs/oauth.md). */
  kind: 'api_key' | 'session' | 'oauth';
  orgId: string;
  role: Role;
  /** The member behind the call: the key's creator for API keys, null for system keys. */
  userId: string | null;
  apiKeyId: string | null;
  /** Session record id for cookie sessions. */
  sessionId: string | null;
  /** How audit rows name the actor: `key:<id>` or `user:<id>`. */
  actor: string;
}

export interface AppVariables {
  principal: Principal;
}

/** The one type every Hono app and router in the Worker is built with. */
export type AppEnv = { Bindings: Env; Variables: AppVariables };
