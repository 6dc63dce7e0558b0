/**
 * Per-connection OAuth settings (docs/oauth.md), part of connections.settings:
 *
 * - `oauth` — gateway mode, Igris Edge as the authorization server for this connection: on/off,
 *   the scopes a person may grant, and whether any dynamically registered client may ask
 *   (`open`) or only clients an owner/admin approved for the connection (`approved`).
 * - `upstreamOAuth` — upstream mode: the upstream server wants each person's own OAuth token.
 *   The connection holds the gateway's client registration at the upstream's authorization server
 *   (its client secret, if any, is the connection's stored credential, encrypted in the vault);
 *   each member links their account once and the gateway sends their token instead of a shared one.
 *
 * Pure zod: no bindings, so plain-Node tests and every layer can read it.
 */
import { z } from 'zod';

export const OAUTH_SCOPES = ['gateway:call', 'offline_access'] as const;

export const gatewayOAuthSettingsSchema = z
  .object({
    /** Off: OAuth access tokens are refused on this connection and no consent is offered for it. */
    enabled: z.boolean().default(true),
    /** Scopes a person may grant for this connection (without `offline_access`, no refresh tokens). */
    scopes: z
      .array(z.enum(OAUTH_SCOPES))
      .max(OAUTH_SCOPES.length)
      .default([...OAUTH_SCOPES]),
    /** `open`: any registered client; `approved`: only the client ids in approvedClients. */
    registration: z.enum(['open', 'approved']).default('open'),
    approvedClients: z.array(z.string().min(1).max(256)).max(200).default([]),
  })
  .strict();
export type GatewayOAuthSettings = z.output<typeof gatewayOAuthSettingsSchema>;

/** What a connection without an `oauth` setting means: on, both scopes, open registration. */
export const DEFAULT_GATEWAY_OAUTH: GatewayOAuthSettings = gatewayOAuthSettingsSchema.parse({});

const httpUrl = z
  .string()
  .url()
  .max(500)
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL');

export const upstreamOAuthSettingsSchema = z
  .object({
    /** The upstream's authorization server (issuer); its RFC 8414 / OIDC metadata is discovered. */
    issuer: httpUrl,
    /** The gateway's client id at that server (registered by the organization's admin). */
    clientId: z.string().min(1).max(256),
    /** Scopes asked of the upstream server. */
    scopes: z.array(z.string().min(1).max(200)).max(50).default([]),
    /** Optional RFC 8707 resource sent with the authorization and token requests. */
    resource: httpUrl.optional(),
    /**
     * For providers that publish no discovery document (GitHub: `https://github.com/login/oauth/authorize`
     * and `…/access_token`): both endpoints, and the issuer is then only a label. Absent: discovered.
     */
    authorizationEndpoint: httpUrl.optional(),
    tokenEndpoint: httpUrl.optional(),
  })
  .strict()
  .refine((s) => (s.authorizationEndpoint === undefined) === (s.tokenEndpoint === undefined), {
    message: 'give both authorizationEndpoint and tokenEndpoint, or neither (discovery)',
    path: ['tokenEndpoint'],
  });
export type UpstreamOAuthSettings = z.output<typeof upstreamOAuthSettingsSchema>;
