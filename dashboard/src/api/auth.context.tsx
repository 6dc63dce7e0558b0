/**
 * Who is using the dashboard: a signed-in person (session cookie + CSRF token) or an API key pasted
 * into this tab (sessionStorage). Everything else reads it through useAuth().
 */
import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { ApiError, auth, setCredentials, UNAUTHORIZED_EVENT, v1 } from './api.client';
import type { AuthSession, Organization, SignUpInput } from './api.types';

const KEY_STORAGE = 'igris.apiKey';

export type AuthState =
  | { status: 'loading' }
  | { status: 'signedOut'; notice?: string }
  | { status: 'signedIn'; mode: 'cookie'; session: AuthSession; org: Organization | null }
  | { status: 'signedIn'; mode: 'apiKey'; org: Organization };

interface AuthApi {
  state: AuthState;
  signIn(email: string, password: string): Promise<void>;
  signUp(input: SignUpInput): Promise<void>;
  signInWithKey(key: string): Promise<void>;
  signOut(): Promise<void>;
  switchOrganization(organizationId: string): Promise<void>;
  /** Re-reads the session and organization (after accepting an invitation, renaming the org…). */
  refresh(): Promise<void>;
}

const AuthContext = createContext<AuthApi | null>(null);

async function cookieState(session: AuthSession): Promise<AuthState> {
  setCredentials({ kind: 'cookie', csrfToken: session.csrfToken });
  const org = session.activeOrganization ? await v1('get', '/organizations/current') : null;
  return { status: 'signedIn', mode: 'cookie', session, org };
}

async function keyState(key: string): Promise<AuthState> {
  setCredentials({ kind: 'apiKey', key });
  try {
    const org = await v1('get', '/organizations/current');
    return { status: 'signedIn', mode: 'apiKey', org };
  } catch (err) {
    setCredentials({ kind: 'none' });
    throw err;
  }
}

/** The first answer: a stored key, else a live session cookie, else signed out. */
async function initialState(): Promise<AuthState> {
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) {
    try {
      return await keyState(key);
    } catch {
      sessionStorage.removeItem(KEY_STORAGE);
    }
  }
  // Probing with no credentials: a 401 here means "not signed in", not "session ended".
  setCredentials({ kind: 'none' });
  try {
    return await cookieState(await auth<AuthSession>('GET', '/session'));
  } catch (err) {
    setCredentials({ kind: 'none' });
    if (err instanceof ApiError && (err.status === 401 || err.status === 404)) return { status: 'signedOut' };
    return { status: 'signedOut', notice: err instanceof Error ? err.message : String(err) };
  }
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: 'loading' });
  const queryClient = useQueryClient();

  useEffect(() => {
    let live = true;
    void initialState().then((next) => {
      if (live) setState(next);
    });
    return () => {
      live = false;
    };
  }, []);

  const signedOut = useCallback(
    (notice?: string) => {
      setCredentials({ kind: 'none' });
      sessionStorage.removeItem(KEY_STORAGE);
      queryClient.clear();
      setState({ status: 'signedOut', notice });
    },
    [queryClient],
  );

  useEffect(() => {
    const onUnauthorized = () => signedOut('Your session ended. Sign in again.');
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, [signedOut]);

  const api = useMemo<AuthApi>(
    () => ({
      state,
      async signIn(email, password) {
        setCredentials({ kind: 'none' });
        const session = await auth<AuthSession>('POST', '/sign-in', { email, password });
        queryClient.clear();
        setState(await cookieState(session));
      },
      async signUp(input) {
        setCredentials({ kind: 'none' });
        const session = await auth<AuthSession>('POST', '/sign-up', input);
        queryClient.clear();
        setState(await cookieState(session));
      },
      async signInWithKey(key) {
        const next = await keyState(key.trim());
        sessionStorage.setItem(KEY_STORAGE, key.trim());
        queryClient.clear();
        setState(next);
      },
      async signOut() {
        if (state.status === 'signedIn' && state.mode === 'cookie') {
          await auth('POST', '/sign-out').catch(() => undefined);
        }
        signedOut();
      },
      async switchOrganization(organizationId) {
        const session = await auth<AuthSession>('POST', '/organizations/switch', { organizationId });
        queryClient.clear();
        setState(await cookieState(session));
      },
      async refresh() {
        if (state.status !== 'signedIn') return;
        if (state.mode === 'apiKey') {
          setState({ status: 'signedIn', mode: 'apiKey', org: await v1('get', '/organizations/current') });
          return;
        }
        setState(await cookieState(await auth<AuthSession>('GET', '/session')));
      },
    }),
    [state, queryClient, signedOut],
  );

  return <AuthContext.Provider value={api}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthApi {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}

/** The signed-in organization (screens under the shell only render when there is one). */
export function useOrg(): Organization {
  const { state } = useAuth();
  if (state.status !== 'signedIn' || !state.org) throw new Error('useOrg without an organization');
  return state.org;
}

/** Roles allowed to change things (Auditors are read-only; Developers only their own connections). */
export function useCanWrite(): boolean {
  const org = useOrg();
  return org.role !== 'auditor';
}
