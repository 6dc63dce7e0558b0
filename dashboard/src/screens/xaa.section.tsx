/**
 * Cross App Access (experimental; docs/oauth.md#cross-app-access-experimental) on the OAuth apps
 * screen, for owners and admins: the identity providers the organization trusts to sign ID-JAG
 * assertions, the assertions and subjects it revoked, and the last 30 days' exchanges and refusals.
 * The deployment turns the feature on (CROSS_APP_ACCESS); while it is off the API answers 404 and
 * this section says so in one line instead of offering forms that could not work.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, issueFor, v1 } from '../api/api.client';
import type { Schemas } from '../api/api.types';
import { ConfirmDialog } from '../ui/dialog';
import { SelectField, TextAreaField, TextField } from '../ui/field';
import { Badge, Time } from '../ui/page';
import { Empty, ErrorState, InlineError, Loading } from '../ui/states';
import { useToast } from '../ui/toast';

type Issuer = Schemas['XaaIssuer'];
type Revocation = Schemas['XaaRevocation'];

const isOff = (error: unknown) => error instanceof ApiError && error.status === 404;

/** One client id per line or comma: what the IdP puts in an assertion's `client_id`. */
const clientList = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

function IssuerForm({ onSaved }: { onSaved(): Promise<unknown> }) {
  const { notify } = useToast();
  const [issuer, setIssuer] = useState('');
  const [jwksUri, setJwksUri] = useState('');
  const [algorithm, setAlgorithm] = useState<'RS256' | 'ES256'>('RS256');
  const [clients, setClients] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      aria-label="Trust an identity provider"
      className="card form-grid"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        v1('post', '/xaa/issuers', {
          body: {
            issuer: issuer.trim(),
            jwksUri: jwksUri.trim(),
            algorithms: [algorithm],
            clients: clientList(clients),
          },
        })
          .then(async (saved) => {
            notify(`Trusting ${saved.issuer}`);
            setIssuer('');
            setJwksUri('');
            setClients('');
            await onSaved();
          })
          .catch(setError)
          .finally(() => setBusy(false));
      }}
    >
      <TextField
        label="Issuer"
        hint="Exactly the assertions' iss (https)."
        value={issuer}
        onChange={(e) => setIssuer(e.target.value)}
        error={issueFor(error, 'issuer')}
        required
        maxLength={500}
        placeholder="https://acme.okta.com"
      />
      <TextField
        label="JWKS URL"
        hint="Where the IdP publishes its signing keys (https)."
        value={jwksUri}
        onChange={(e) => setJwksUri(e.target.value)}
        error={issueFor(error, 'jwksUri')}
        required
        maxLength={500}
        placeholder="https://acme.okta.com/oauth2/v1/keys"
      />
      <SelectField
        label="Signing algorithm"
        value={algorithm}
        onChange={(e) => setAlgorithm(e.target.value as 'RS256' | 'ES256')}
      >
        <option value="RS256">RS256</option>
        <option value="ES256">ES256</option>
      </SelectField>
      <TextAreaField
        label="Allowed clients"
        hint="Igris OAuth client ids (from /register) that may present this IdP's assertions, one per line."
        value={clients}
        onChange={(e) => setClients(e.target.value)}
        error={issueFor(error, 'clients') ?? issueFor(error, 'clients.0')}
        required
        rows={2}
        className="span-2"
      />
      <div className="span-2">
        <InlineError error={issueFor(error, 'issuer') || issueFor(error, 'jwksUri') ? null : error} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Trust issuer
          </button>
        </div>
      </div>
    </form>
  );
}

function RevocationForm({ issuers, onSaved }: { issuers: Issuer[]; onSaved(): Promise<unknown> }) {
  const { notify } = useToast();
  const [issuer, setIssuer] = useState(issuers[0]?.issuer ?? '');
  const [kind, setKind] = useState<'jti' | 'subject'>('jti');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      aria-label="Revoke an assertion or a subject"
      className="card form-grid"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        const body = kind === 'jti' ? { issuer, jti: value.trim() } : { issuer, subject: value.trim() };
        v1('post', '/xaa/revocations', { body })
          .then(async (r) => {
            notify(`Revoked; ${r.revokedGrants} token grant(s) stopped`);
            setValue('');
            await onSaved();
          })
          .catch(setError)
          .finally(() => setBusy(false));
      }}
    >
      <SelectField label="Issuer" value={issuer} onChange={(e) => setIssuer(e.target.value)}>
        {issuers.map((i) => (
          <option key={i.id} value={i.issuer}>
            {i.issuer}
          </option>
        ))}
      </SelectField>
      <SelectField label="Revoke" value={kind} onChange={(e) => setKind(e.target.value as 'jti' | 'subject')}>
        <option value="jti">One assertion (jti)</option>
        <option value="subject">Every assertion about a subject</option>
      </SelectField>
      <TextField
        label={kind === 'jti' ? 'Assertion id (jti)' : 'Subject (sub)'}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        error={issueFor(error, kind)}
        required
        maxLength={256}
      />
      <div className="span-2">
        <InlineError error={issueFor(error, kind) ? null : error} />
        <div className="form-actions">
          <button type="submit" className="btn btn-danger" disabled={busy || !issuer}>
            Revoke
          </button>
        </div>
      </div>
    </form>
  );
}

function IssuersTable({ issuers, onRemove }: { issuers: Issuer[]; onRemove(i: Issuer): void }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Trusted identity providers">
        <thead>
          <tr>
            <th scope="col">Issuer</th>
            <th scope="col">Keys</th>
            <th scope="col">Allowed clients</th>
            <th scope="col">Trusted since</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {issuers.map((i) => (
            <tr key={i.id} data-testid={`xaa-issuer-${i.id}`}>
              <td className="mono small">{i.issuer}</td>
              <td>
                <div className="mono small">{i.jwksUri}</div>
                {i.algorithms.map((a) => (
                  <Badge key={a} value={a} tone="muted" />
                ))}
              </td>
              <td className="mono small">{i.clients.join(', ')}</td>
              <td>
                <Time iso={i.createdAt} />
              </td>
              <td className="row-actions">
                <button type="button" className="btn btn-small btn-danger" onClick={() => onRemove(i)}>
                  Stop trusting
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RevocationsTable({ revocations }: { revocations: Revocation[] }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Revocations">
        <thead>
          <tr>
            <th scope="col">Issuer</th>
            <th scope="col">Revoked</th>
            <th scope="col">When</th>
          </tr>
        </thead>
        <tbody>
          {revocations.map((r) => (
            <tr key={r.id}>
              <td className="mono small">{r.issuer}</td>
              <td>
                <Badge value={r.kind === 'jti' ? 'assertion' : 'subject'} tone="muted" />{' '}
                <span className="mono small">{r.value}</span>
              </td>
              <td>
                <Time iso={r.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Stats() {
  const stats = useQuery({
    queryKey: ['xaa', 'stats'],
    queryFn: ({ signal }) => v1('get', '/xaa/stats', { query: { days: 30 }, signal }),
  });
  if (stats.isPending) return <Loading label="Loading exchanges…" />;
  if (stats.isError) return <ErrorState error={stats.error} retry={() => void stats.refetch()} />;
  const reasons = Object.entries(stats.data.refusedByReason).sort((a, b) => b[1] - a[1]);
  return (
    <p data-testid="xaa-stats">
      Last 30 days: <strong>{stats.data.exchanges}</strong> exchange(s), <strong>{stats.data.refused}</strong>{' '}
      refused
      {reasons.length > 0 ? ` (${reasons.map(([reason, n]) => `${reason}: ${n}`).join(', ')})` : ''}.
    </p>
  );
}

export function XaaSection() {
  const queryClient = useQueryClient();
  const { notify } = useToast();
  const [removing, setRemoving] = useState<Issuer | null>(null);
  const issuers = useQuery({
    queryKey: ['xaa', 'issuers'],
    queryFn: ({ signal }) => v1('get', '/xaa/issuers', { signal }).then((r) => r.issuers),
    retry: (count, error) => !isOff(error) && count < 2,
  });
  const on = issuers.isSuccess;
  const revocations = useQuery({
    queryKey: ['xaa', 'revocations'],
    queryFn: ({ signal }) => v1('get', '/xaa/revocations', { signal }).then((r) => r.revocations),
    enabled: on,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['xaa'] });
  return (
    <section aria-labelledby="xaa-title" className="section">
      <h2 id="xaa-title">Cross App Access (experimental)</h2>
      {issuers.isPending ? <Loading label="Loading identity providers…" /> : null}
      {issuers.isError && isOff(issuers.error) ? (
        <p className="muted" data-testid="xaa-off">
          Off for this deployment. Set <code>CROSS_APP_ACCESS = "on"</code> in wrangler.toml to let an
          enterprise identity provider's ID-JAG assertions reach connections without a consent page.
        </p>
      ) : null}
      {issuers.isError && !isOff(issuers.error) ? (
        <ErrorState error={issuers.error} retry={() => void issuers.refetch()} />
      ) : null}
      {on ? (
        <>
          <p className="muted">
            Identity providers trusted to sign ID-JAG assertions for this organization's members: an app a
            member is signed in to at the IdP gets a token for a connection without a consent page.
          </p>
          <Stats />
          {issuers.data.length === 0 ? (
            <Empty title="No identity provider is trusted">Add one below to accept its assertions.</Empty>
          ) : (
            <IssuersTable issuers={issuers.data} onRemove={setRemoving} />
          )}
          <h3>Trust an identity provider</h3>
          <IssuerForm onSaved={refresh} />
          {issuers.data.length > 0 ? (
            <>
              <h3>Revocations</h3>
              {revocations.isError ? (
                <ErrorState error={revocations.error} retry={() => void revocations.refetch()} />
              ) : null}
              {revocations.data?.length === 0 ? <p className="muted small">Nothing revoked.</p> : null}
              {revocations.data && revocations.data.length > 0 ? (
                <RevocationsTable revocations={revocations.data} />
              ) : null}
              <RevocationForm key={issuers.data[0]?.id} issuers={issuers.data} onSaved={refresh} />
            </>
          ) : null}
        </>
      ) : null}
      <ConfirmDialog
        open={removing !== null}
        title={`Stop trusting ${removing?.issuer ?? 'this issuer'}?`}
        confirmLabel="Stop trusting"
        danger
        onConfirm={async () => {
          if (!removing) return;
          await v1('delete', '/xaa/issuers/{id}', { path: { id: removing.id } });
          notify('Issuer removed');
          await refresh();
        }}
        onClose={() => setRemoving(null)}
      >
        <p>
          Its assertions are refused from now on. Tokens already issued from them run until they expire;
          revoke the subject first to stop them at once.
        </p>
      </ConfirmDialog>
    </section>
  );
}
