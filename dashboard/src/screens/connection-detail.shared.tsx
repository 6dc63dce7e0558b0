/**
 * A connection's page for a developer who may use it only because it is shared with them
 * (`settings.sharedWith`, docs/permissions.md#sharing): the API answers them its shared view, and
 * this shows what they need to call it — the gateway URL and client snippets, and their own
 * upstream account on a connection in OAuth upstream mode — without the settings, credential,
 * policy, activity or actions they may neither read nor change.
 */
import type { Schemas } from '../api/api.types';
import { Badge, PageHeader } from '../ui/page';
import { useLlmProviders } from './connection-create.llm';
import { LlmUseIt } from './connection-detail.llm';
import { UseIt } from './connection-detail.use-it';
import { ConnectionUpstreamAccount } from './connection-upstream-account';

export type SharedConnection = Schemas['SharedConnection'];

export function SharedConnectionView({ connection: c }: { connection: SharedConnection }) {
  const providers = useLlmProviders();
  return (
    <>
      <PageHeader
        title={
          <>
            {c.name} <Badge value={c.enabled ? 'enabled' : 'disabled'} />
          </>
        }
        subtitle={
          <>
            <span className="mono">{c.slug}</span> ·{' '}
            <span data-testid="connection-shared">
              shared with you: you may call it, its owner manages it
            </span>
          </>
        }
      />
      {c.upstreamOAuth ? <ConnectionUpstreamAccount connection={c} upstream={c.upstreamOAuth} /> : null}
      {c.llm ? (
        <LlmUseIt
          connection={{ slug: c.slug, gatewayUrl: c.gatewayUrl, allowedModels: c.llm.allowedModels }}
          family={providers.data?.find((p) => p.id === c.llm?.provider)?.family ?? 'openai'}
        />
      ) : (
        <UseIt slug={c.slug} gatewayUrl={c.gatewayUrl} />
      )}
    </>
  );
}
