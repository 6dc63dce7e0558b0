/**
 * A connection's OAuth settings (docs/oauth.md#per-connection-settings): whether MCP clients may
 * sign in with OAuth here, which scopes a person may grant, and whether any registered app may
 * ask or only the approved ones. Saved with PATCH /connections/{slug} (settings.oauth); the
 * gateway applies them on the next call.
 */
import { useState } from 'react';
import type { Connection } from '../api/api.types';
import { Link } from '../lib/router';
import { InlineError } from '../ui/states';
import { useToast } from '../ui/toast';
import { useSaveConnectionSettings } from './connection-settings.queries';

type OAuthSettings = NonNullable<Connection['settings']['oauth']>;
type Scope = 'gateway:call' | 'offline_access';

const SCOPES: Array<{ id: Scope; label: string }> = [
  { id: 'gateway:call', label: 'gateway:call — call this connection as the person' },
  { id: 'offline_access', label: 'offline_access — refresh tokens (stay signed in up to 30 days)' },
];

export function ConnectionOAuth({ connection, canWrite }: { connection: Connection; canWrite: boolean }) {
  const current: OAuthSettings = connection.settings.oauth ?? {};
  const [enabled, setEnabled] = useState(current.enabled ?? true);
  const [scopes, setScopes] = useState<Scope[]>(current.scopes ?? ['gateway:call', 'offline_access']);
  const [registration, setRegistration] = useState(current.registration ?? 'open');
  const [approved, setApproved] = useState((current.approvedClients ?? []).join('\n'));
  const { notify } = useToast();
  const save = useSaveConnectionSettings(connection.slug, {
    onSaved: () => notify(`OAuth settings of ${connection.slug} saved`),
  });
  const toggleScope = (scope: Scope) =>
    setScopes((s) => (s.includes(scope) ? s.filter((x) => x !== scope) : [...s, scope]));
  return (
    <section className="card" aria-labelledby="oauth-settings">
      <h2 id="oauth-settings">OAuth sign-in</h2>
      <p className="muted small">
        MCP clients can connect with only this connection's URL and sign in as a member; members review and
        revoke what they granted on <Link to="/oauth-apps">OAuth apps</Link>. API keys keep working either
        way.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate({
            oauth: {
              enabled,
              scopes,
              registration,
              approvedClients: approved
                .split(/\s+/)
                .map((s) => s.trim())
                .filter(Boolean),
            },
          });
        }}
      >
        <fieldset disabled={!canWrite || save.isPending}>
          <label className="checkbox">
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Allow
            OAuth sign-in for this connection
          </label>
          <fieldset>
            <legend>Scopes a person may grant</legend>
            {SCOPES.map((s) => (
              <label key={s.id} className="checkbox">
                <input type="checkbox" checked={scopes.includes(s.id)} onChange={() => toggleScope(s.id)} />{' '}
                {s.label}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Which apps may ask</legend>
            <label className="checkbox">
              <input
                type="radio"
                name="oauth-registration"
                checked={registration === 'open'}
                onChange={() => setRegistration('open')}
              />{' '}
              Any app that registers (each person still consents)
            </label>
            <label className="checkbox">
              <input
                type="radio"
                name="oauth-registration"
                checked={registration === 'approved'}
                onChange={() => setRegistration('approved')}
              />{' '}
              Approved apps only
            </label>
          </fieldset>
          {registration === 'approved' ? (
            <label className="field">
              <span className="field-label">Approved app client ids (one per line)</span>
              <textarea
                rows={3}
                className="mono"
                value={approved}
                onChange={(e) => setApproved(e.target.value)}
              />
            </label>
          ) : null}
          <InlineError error={save.error} />
          {canWrite ? (
            <button type="submit" className="btn btn-primary">
              Save OAuth settings
            </button>
          ) : null}
        </fieldset>
      </form>
    </section>
  );
}
