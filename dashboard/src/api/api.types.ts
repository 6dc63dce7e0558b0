/**
 * API shapes the dashboard uses. The management API's are the SDK's generated types
 * (sdk/src/api.types.ts, from /api/v1/openapi.json) and the live events' are the Worker's own
 * (workers/shared/events.types.ts): nothing here re-declares them.
 *
 * `/api/auth/*` has its own OpenAPI document (/api/auth/openapi.json) that the SDK generator does
 * not read yet, so its few shapes are declared below, mirroring workers/auth/auth.schemas.ts.
 */
import type { Paths, Schemas } from '../../../sdk/src/api.types';

export type {
  AnomalyEvent,
  GatewayEvent,
  ManagementEvent,
  SessionUpdateEvent,
  ToolCallEvent,
} from '../../../workers/shared/events.types';
export type { Paths, Schemas };

export type Connection = Schemas['Connection'];
/** A connection a developer may use only because it is shared with them: what they need to call it. */
export type SharedConnection = Schemas['SharedConnection'];
/** An item of the connections list: whole, or (a developer's) shared view. */
export type ListedConnection = Connection | SharedConnection;
export type CreateConnection = Schemas['CreateConnection'];
export type PolicyVersion = Schemas['PolicyVersion'];
export type Simulation = Schemas['Simulation'];
export type SimulationRequest = Schemas['SimulationRequest'];
export type AgentSession = Schemas['AgentSession'];
export type KillSwitch = Schemas['KillSwitch'];
export type CreateKillSwitch = Schemas['CreateKillSwitch'];
export type AuditEvent = Schemas['AuditEvent'];
export type AuditEventPage = Schemas['AuditEventPage'];
export type Trace = Schemas['Trace'];
export type ApiKey = Schemas['ApiKey'];
export type CreatedApiKey = Schemas['CreatedApiKey'];
export type Member = Schemas['Member'];
export type Organization = Schemas['Organization'];
export type UpdateOrganization = Schemas['UpdateOrganization'];
export type Role = Schemas['ApiKey']['role'];
export type KillScope = Schemas['KillSwitch']['scope'];
export type AuditType = Schemas['AuditEvent']['type'];
export type AuditQuery = Paths['/audit-events']['get']['query'];
export type LlmProvider = Schemas['LlmProvider'];
export type LlmUsage = Schemas['LlmUsage'];
export type LlmUsageGroupBy = NonNullable<Paths['/llm/usage']['get']['query']>['groupBy'];
export type Team = Schemas['Team'];
export type TeamMember = Schemas['TeamMember'];
export type AddTeamMember = Schemas['AddTeamMember'];
export type Budget = Schemas['BudgetWithStatus'];
export type CreateBudget = Schemas['CreateBudget'];
export type BudgetScope = Schemas['Budget']['scope'];
export type SystemPrompt = Schemas['SystemPrompt'];
export type SystemPromptAssignment = Schemas['SystemPromptAssignment'];
export type SystemPromptAssignmentInput = Schemas['SystemPromptAssignmentInput'];

// ---- /api/auth (thin layer until the SDK generator covers /api/auth/openapi.json) ----

export interface AuthUser {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
}

export interface Membership {
  id: string;
  slug: string;
  name: string;
  role: Role;
}

export interface AuthSession {
  user: AuthUser;
  activeOrganization: Membership | null;
  organizations: Membership[];
  /** Sent back as X-CSRF-Token on every state-changing cookie request. */
  csrfToken: string;
  expiresAt: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  createdAt: string;
  expiresAt: string;
}

export interface SignUpInput {
  email: string;
  password: string;
  name?: string;
  organizationName?: string;
  invitationToken?: string;
}

/** One field problem as the API reports it in error.details.issues. */
export interface FieldIssue {
  location?: string;
  path: string;
  message: string;
  /** Policy documents: the rule the problem is in (null: the document itself). */
  ruleIndex?: number | null;
}

export const ROLES: readonly Role[] = ['owner', 'admin', 'developer', 'auditor'];
export const KILL_SCOPES: readonly KillScope[] = ['organization', 'connection', 'user', 'apiKey', 'session'];
export const AUDIT_TYPES: readonly AuditType[] = [
  'tool_call',
  'llm_call',
  'request',
  'admin',
  'anomaly',
  'session',
  'auth',
];
