/**
 * "Your account at <provider>": on a connection in OAuth upstream mode (docs/oauth.md#upstream-mode)
 * each member's calls carry their own token at the upstream's provider. This panel shows the
 * signed-in member whether they linked their account (expiry, scope), links it — a plain
 * navigation to the gateway's connect URL, which sends them to the provider's consent and back —
 * and unlinks it. It is about the viewer only; no token ever reaches the dashboard.
 */
import { useState } from 'react';
import { ApiError } from '../api/api.client';
import { useAuth } from '../api/auth.context';
import { ConfirmDialog } from '../ui/dialog';
import { Badge, Time } from '../ui/page';
import { ErrorState, Loading } from '../ui/states';
import { useToast } from '../ui/toast';
import { type UpstreamLink, useUnlinkUpstream, useUpstreamLink } from './upstream-oauth.queries';

/** The provider the member links an account at (the whole settings, or a sharee's view of them). */
type UpstreamOAuth = { issuer: string };

/** The provider as a person knows it: the issuer's host (an issuer is a URL). */
export function providerName(upstream: UpstreamOAuth): string {
  try {
    return new URL(upstream.issuer).host;
  } catch {
    return upstream.issuer;
  }
}

/** Only a web address of the gateway is followed (the API's answer is trusted, but not as a script). */
function safeHref(url: string): string | null {
  try {
    return /^https?:$/.test(new URL(url).protocol) ? url : null;
  } catch {
    return null;
  }
}

/** A member who may not use the connection (an auditor) has nothing to link: said plainly, not as a failure. */
const notAllowed = (error: unknown) => error instanceof ApiError && error.code === 'connection_forbidden';

function LinkDetails({ link }: { link: UpstreamLink }) {
  const expired = link.expiresAt !== null && Date.parse(link.expiresAt) < Date.now();
  return (
    <dl className="details">
      <dt>Status</dt>
      <dd data-testid="upstream-link-status">
        {link.linked ? <Badge value="linked" tone="ok" /> : <Badge value="not linked" tone="warn" />}
      </dd>
      {link.linked ? (
        <>
          <dt>Linked</dt>
          <dd>
            <Time iso={link.linkedAt} />
          </dd>
          <dt>Access expires</dt>
          <dd data-testid="upstream-link-expires">
            {link.expiresAt ? <Time iso={link.expiresAt} relative={false} /> : 'not given by the provider'}
            {expired ? (
              <span className="muted"> · renewed at your next call if the provider allows</span>
            ) : null}
          </dd>
          <dt>Scope</dt>
          <dd className="mono">{link.scope ?? <span className="muted">not given by the provider</span>}</dd>
        </>
      ) : null}
    </dl>
  );
}

export function ConnectionUpstreamAccount({
  connection,
  upstream,
}: {
  connection: { slug: string };
  upstream: UpstreamOAuth;
}) {
  const link = useUpstreamLink(connection.slug);
  const unlink = useUnlinkUpstream(connection.slug);
  const { state } = useAuth();
  const { notify } = useToast();
  const [confirming, setConfirming] = useState(false);
  const provider = providerName(upstream);
  const href = link.data ? safeHref(link.data.connectUrl) : null;
  // The connect URL needs the dashboard's sign-in cookie: a tab signed in with an API key has none.
  const byKey = state.status === 'signedIn' && state.mode === 'apiKey';
  return (
    <section className="card" aria-labelledby="upstream-account">
      <h2 id="upstream-account">Your account at {provider}</h2>
      <p className="muted small">
        Calls you make through <span className="mono">{connection.slug}</span> go to the upstream with your
        own account at <span className="mono">{upstream.issuer}</span>, never a shared one. Link it once here;
        the gateway keeps its tokens encrypted and never shows them.
      </p>
      {link.isPending ? <Loading label="Checking your link…" /> : null}
      {link.isError && notAllowed(link.error) ? (
        <p data-testid="upstream-link-status">
          Your role may not call this connection, so it holds no account of yours to link.
        </p>
      ) : null}
      {link.isError && !notAllowed(link.error) ? (
        <ErrorState error={link.error} retry={() => void link.refetch()} title="Could not check your link" />
      ) : null}
      {link.data ? (
        <>
          <LinkDetails link={link.data} />
          {byKey ? (
            <p className="muted small">
              Linking needs you signed in to the dashboard as yourself (not with an API key).
            </p>
          ) : null}
          <div className="form-actions">
            {href ? (
              <a className={`btn ${link.data.linked ? '' : 'btn-primary'}`} href={href}>
                {link.data.linked ? 'Link again' : 'Link account'}
              </a>
            ) : null}
            {link.data.linked ? (
              <button type="button" className="btn btn-danger" onClick={() => setConfirming(true)}>
                Unlink
              </button>
            ) : null}
          </div>
        </>
      ) : null}
      <ConfirmDialog
        open={confirming}
        title={`Unlink your account at ${provider}?`}
        confirmLabel="Unlink account"
        danger
        onConfirm={() =>
          unlink
            .mutateAsync()
            .then(() => notify(`Your account at ${provider} is unlinked from ${connection.slug}`))
        }
        onClose={() => setConfirming(false)}
      >
        <p>
          The gateway deletes the tokens it holds for you on <strong>{connection.slug}</strong>. Your calls
          through it are then refused, with a link to connect again, until you link an account again. Access
          you granted at {provider} itself is not withdrawn there: do that in your account's settings at the
          provider.
        </p>
      </ConfirmDialog>
    </section>
  );
}
