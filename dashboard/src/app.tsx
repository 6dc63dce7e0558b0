/**
 * Top-level routing: signed-out people see the sign-in screens; signed-in ones the shell with
 * its screens. Unknown paths land on Observe.
 */
import { type ComponentType, useEffect } from 'react';
import { useAuth } from './api/auth.context';
import { Shell } from './app.shell';
import { matchPath, navigate, useLocation } from './lib/router';
import { ObserveScreen } from './observe/observe.screen';
import { PolicyScreen } from './policy/policy.screen';
import { AcceptInvitationScreen } from './screens/accept-invitation.screen';
import { AgentDetailScreen } from './screens/agent-detail.screen';
import { AgentsScreen } from './screens/agents.screen';
import { AlertsScreen } from './screens/alerts.screen';
import { ApiKeysScreen } from './screens/apikeys.screen';
import { ApprovalsScreen } from './screens/approvals.screen';
import { AuditScreen } from './screens/audit.screen';
import { BudgetsScreen } from './screens/budgets.screen';
import { ConnectionCreateScreen } from './screens/connection-create.screen';
import { ConnectionDetailScreen } from './screens/connection-detail.screen';
import { ConnectionsScreen } from './screens/connections.screen';
import { DetectionsScreen } from './screens/detections.screen';
import { LlmUsageScreen } from './screens/llm-usage.screen';
import { MembersScreen } from './screens/members.screen';
import { NoOrganizationScreen } from './screens/no-organization.screen';
import { OAuthScreen } from './screens/oauth.screen';
import { ResetPasswordScreen } from './screens/reset-password.screen';
import { SessionsScreen } from './screens/sessions.screen';
import { SettingsScreen } from './screens/settings.screen';
import { SignInScreen } from './screens/sign-in.screen';
import { SignUpScreen } from './screens/sign-up.screen';
import { SystemPromptsScreen } from './screens/system-prompts.screen';
import { TeamsScreen } from './screens/teams.screen';
import { TraceScreen } from './screens/trace.screen';
import { Loading } from './ui/states';

type Screen = ComponentType<{ params: Record<string, string> }>;

/** Most specific first: /connections/new before /connections/:slug. */
const ROUTES: Array<[string, Screen]> = [
  ['/observe', ObserveScreen],
  ['/connections', ConnectionsScreen],
  ['/connections/new', ConnectionCreateScreen],
  ['/connections/:slug', ConnectionDetailScreen],
  ['/connections/:slug/policy', PolicyScreen],
  ['/agents', AgentsScreen],
  ['/agents/:slug', AgentDetailScreen],
  ['/sessions', SessionsScreen],
  ['/approvals', ApprovalsScreen],
  ['/approvals/:id', ApprovalsScreen],
  ['/alerts', AlertsScreen],
  ['/audit', AuditScreen],
  ['/audit/traces/:traceId', TraceScreen],
  ['/llm-usage', LlmUsageScreen],
  ['/teams', TeamsScreen],
  ['/budgets', BudgetsScreen],
  ['/system-prompts', SystemPromptsScreen],
  ['/detections', DetectionsScreen],
  ['/members', MembersScreen],
  ['/api-keys', ApiKeysScreen],
  ['/oauth-apps', OAuthScreen],
  ['/settings', SettingsScreen],
  ['/accept-invitation', AcceptInvitationScreen],
];

const SIGNED_OUT_PATHS = new Set(['/sign-in', '/sign-up', '/reset-password']);

function resolve(path: string): { Screen: Screen; params: Record<string, string> } | null {
  for (const [pattern, Screen] of ROUTES) {
    const params = matchPath(pattern, path);
    if (params) return { Screen, params };
  }
  return null;
}

export function App() {
  const { state } = useAuth();
  const { path } = useLocation();
  const signedIn = state.status === 'signedIn';
  const route = resolve(path);

  useEffect(() => {
    if (signedIn && (SIGNED_OUT_PATHS.has(path) || (!route && path !== '/')))
      navigate('/observe', { replace: true });
    if (signedIn && path === '/') navigate('/observe', { replace: true });
  }, [signedIn, path, route]);

  if (state.status === 'loading') {
    return (
      <main className="center-screen">
        <Loading label="Starting Igris…" />
      </main>
    );
  }
  if (state.status === 'signedOut') {
    if (path === '/sign-up') return <SignUpScreen />;
    if (path === '/reset-password') return <ResetPasswordScreen />;
    if (path === '/accept-invitation') return <AcceptInvitationScreen params={{}} />;
    return <SignInScreen notice={state.notice} />;
  }
  if (!state.org) return <NoOrganizationScreen />;
  const { Screen, params } = route ?? { Screen: ObserveScreen, params: {} };
  return (
    <Shell key={state.org.id} org={state.org}>
      <Screen params={params} />
    </Shell>
  );
}
