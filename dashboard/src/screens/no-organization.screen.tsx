/** A signed-in person with no organization (removed from their last one): create one. */
import { useState } from 'react';
import { auth } from '../api/api.client';
import { useAuth } from '../api/auth.context';
import { TextField } from '../ui/field';
import { InlineError } from '../ui/states';
import { AuthLayout } from './auth.layout';

export function NoOrganizationScreen() {
  const { refresh, signOut, state } = useAuth();
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const organizations =
    state.status === 'signedIn' && state.mode === 'cookie' ? state.session.organizations : [];
  const { switchOrganization } = useAuth();
  return (
    <AuthLayout
      title="Choose an organization"
      footer={
        <button type="button" className="btn btn-small" onClick={() => void signOut()}>
          Sign out
        </button>
      }
    >
      {organizations.length > 0 ? (
        <ul className="plain-list">
          {organizations.map((o) => (
            <li key={o.id}>
              <button
                type="button"
                className="btn btn-block"
                onClick={() => void switchOrganization(o.id).catch(setError)}
              >
                {o.name} ({o.role})
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p>You are not a member of any organization. Create one, or ask a colleague to invite you.</p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          auth('POST', '/organizations', { name })
            .then(() => refresh())
            .catch(setError);
        }}
      >
        <TextField
          label="New organization name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
        />
        <InlineError error={error} />
        <button type="submit" className="btn btn-primary btn-block">
          Create organization
        </button>
      </form>
    </AuthLayout>
  );
}
