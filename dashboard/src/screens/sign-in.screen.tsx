/**
 * Sign in: email + password (session cookie), OAuth providers when configured, and an API key
 * pasted into this tab as the fallback for operators (and where people sign-in is unavailable).
 */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { apiUrl, auth, issueFor } from '../api/api.client';
import { useAuth } from '../api/auth.context';
import { Link, useLocation } from '../lib/router';
import { TextField } from '../ui/field';
import { InlineError } from '../ui/states';
import { AuthLayout } from './auth.layout';

const PROVIDER_NAMES: Record<string, string> = { github: 'GitHub', google: 'Google' };

function OAuthButtons() {
  const providers = useQuery({
    queryKey: ['oauth-providers'],
    queryFn: () => auth<{ providers: string[] }>('GET', '/oauth/providers'),
    retry: false,
  });
  const list = providers.data?.providers ?? [];
  if (list.length === 0) return null;
  const target = `${window.location.origin}${window.location.pathname === '/sign-in' ? '/observe' : window.location.pathname}${window.location.search}`;
  return (
    <div className="oauth-buttons">
      {list.map((p) => (
        <a
          key={p}
          className="btn btn-block"
          href={apiUrl(`/api/auth/oauth/${p}/start`, { redirectTo: target })}
        >
          Continue with {PROVIDER_NAMES[p] ?? p}
        </a>
      ))}
      <p className="divider">
        <span>or</span>
      </p>
    </div>
  );
}

export function SignInScreen({ notice }: { notice?: string }) {
  const { signIn, signInWithKey } = useAuth();
  const { query } = useLocation();
  const [mode, setMode] = useState<'password' | 'key'>('password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const oauthError = query.get('auth_error');

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      if (mode === 'password') await signIn(email, password);
      else await signInWithKey(key);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthLayout
      title="Sign in"
      footer={
        <>
          <span>
            New here? <Link to="/sign-up">Create an account</Link>
          </span>
          <Link to="/reset-password">Forgot your password?</Link>
        </>
      }
    >
      {notice ? <p className="notice">{notice}</p> : null}
      {oauthError ? (
        <p className="inline-error" role="alert">
          Sign-in with the provider failed ({oauthError}).
        </p>
      ) : null}
      <div className="segmented" role="tablist" aria-label="Sign-in method">
        <button
          type="button"
          role="tab"
          aria-selected={mode === 'password'}
          onClick={() => setMode('password')}
        >
          Email and password
        </button>
        <button type="button" role="tab" aria-selected={mode === 'key'} onClick={() => setMode('key')}>
          API key
        </button>
      </div>
      {mode === 'password' ? <OAuthButtons /> : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        {mode === 'password' ? (
          <>
            <TextField
              label="Email"
              type="email"
              autoComplete="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              error={issueFor(error, 'email')}
              required
            />
            <TextField
              label="Password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              error={issueFor(error, 'password')}
              required
            />
          </>
        ) : (
          <TextField
            label="API key"
            type="password"
            autoComplete="off"
            placeholder="ig_…"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            hint="Kept in this tab only (sessionStorage) and sent as a bearer token. Closing the tab forgets it."
            required
            pattern="ig_.+"
          />
        )}
        <InlineError error={error} />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </AuthLayout>
  );
}
