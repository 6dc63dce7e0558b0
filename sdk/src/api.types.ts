// biome-ignore-all format: generated file
// biome-ignore-all lint: generated file
/**
 * Igris Edge management API 1.0.0 — types generated from GET /api/v1/openapi.json
 * (OpenAPI 3.1.0) by scripts/gen-sdk-types.ts. Do not edit: run `npm run sdk:types`.
 */

/** Every component schema of the management API, by name. */
export interface Schemas {
  A2aTask: {
    taskId: string;
    contextId: string | null;
    /** @example "completed" */
    state: string;
    skill: string | null;
    user: string | null;
    firstTraceId: string | null;
    lastTraceId: string | null;
    createdAt: string;
    updatedAt: string;
  };
  A2aTaskDetail: Schemas['A2aTask'] & ({
    events: Array<Schemas['A2aTaskEvent']>;
  });
  A2aTaskEvent: {
    kind: 'request' | 'state' | 'message' | 'artifact';
    state: string | null;
    traceId: string | null;
    method: string | null;
    /** Message metadata (messageId, role, parts, metadata) */
    detail?: unknown;
    at: string;
  };
  AddTeamMember: {
    /** minLength 1, maxLength 64 */
    userId?: string;
    /** minLength 1, maxLength 256 */
    externalUser?: string;
    /** minLength 1, maxLength 64 */
    apiKeyId?: string;
  };
  AgentCardRefresh: Schemas['StoredAgentCard'] & ({
    changed: boolean;
    changes: {
      fields: Array<string>;
      skillsAdded: Array<string>;
      skillsRemoved: Array<string>;
      skillsChanged: Array<string>;
      endpoint: {
        from: string | null;
        to: string | null;
      } | null;
    } | null;
  });
  AgentSession: {
    /** ses_… — one per organization and connection */
    id: string;
    connectionId: string;
    connectionSlug: string;
    /** suspended while an organization, connection or session kill switch holds it */
    status: 'active' | 'suspended';
    suspendedReason: string | null;
    /** The kill switches that suspend it */
    heldBy: Array<Schemas['SessionHold']>;
    /** Last Mcp-Session-Id seen */
    mcpSessionId: string | null;
    /** Last API key seen */
    apiKeyId: string | null;
    /** Last X-Igris-User seen */
    user: string | null;
    callCount: number;
    lastSeenAt: string | null;
    createdAt: string | null;
    updatedAt: string | null;
  };
  Alert: {
    id: string;
    /** kill_switch | detection | drift | anomaly | deny_spike | approval | budget | policy */
    type: string;
    severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
    title: string;
    status: 'open' | 'acknowledged' | 'resolved' | 'dismissed';
    fingerprint: string;
    connectionId: string | null;
    assignee: string | null;
    comment: string | null;
    count: number;
    details: {
      [key: string]: unknown;
    };
    firstSeenAt: string;
    lastSeenAt: string;
    updatedAt: string;
  };
  AlertBulk: {
    /** maxItems 200 */
    ids: Array<string>;
    status: 'open' | 'acknowledged' | 'resolved' | 'dismissed';
  };
  AlertPage: {
    alerts: Array<Schemas['Alert']>;
    nextCursor: string | null;
  };
  AlertPatch: {
    status?: 'open' | 'acknowledged' | 'resolved' | 'dismissed';
    /** minLength 1, maxLength 200 */
    assignee?: string | null;
    /** maxLength 2000 */
    comment?: string | null;
  };
  ApiKey: {
    id: string;
    name: string;
    role: 'owner' | 'admin' | 'developer' | 'auditor';
    /** First 10 characters of the key, for telling keys apart */
    prefix: string;
    createdBy: string | null;
    createdAt: string;
    lastUsedAt: string | null;
    revokedAt: string | null;
  };
  Approval: {
    id: string;
    connectionId: string;
    connectionSlug: string;
    /** mcp | llm | a2a */
    protocol: string;
    /** The governed name: tool, resource:…, model or skill */
    tool: string;
    /** SHA-256 (hex) of the canonical JSON of the arguments */
    argsHash: string;
    /** The arguments (null when over 16 KiB: the hash still binds) */
    args?: unknown;
    apiKeyId: string | null;
    userId: string | null;
    /** X-Igris-User (or the OAuth member) of the call */
    caller: string | null;
    ruleIndex: number | null;
    reason: string | null;
    /** Session taint: the labels the session had touched when the call was held under onTaint "approve"; null for an approve rule */
    taint: Array<string> | null;
    status: 'pending' | 'approved' | 'denied' | 'used' | 'expired';
    traceId: string | null;
    requestedAt: string;
    expiresAt: string;
    decidedBy: string | null;
    decidedAt: string | null;
    comment: string | null;
    usedAt: string | null;
  };
  ApprovalDecision: {
    /** maxLength 500 */
    comment?: string;
  };
  ApprovalList: {
    approvals: Array<Schemas['Approval']>;
  };
  AuditCheckpointPage: {
    checkpoints: Array<{
      id: string;
      kind: 'checkpoint';
      version: 1;
      orgId: string;
      createdAt: string;
      heads: Array<{
        chain: string;
        first: number;
        seq: number;
        hash: string;
      }>;
      keyId: string;
      publicKey: string;
      signature: string;
    }>;
    nextCursor: string | null;
  };
  AuditEvent: {
    id: string;
    orgId: string | null;
    type:
      | 'tool_call'
      | 'llm_call'
      | 'a2a_call'
      | 'request'
      | 'admin'
      | 'anomaly'
      | 'session'
      | 'auth';
    connectionId: string | null;
    connectionSlug: string | null;
    sessionId: string | null;
    mcpSessionId: string | null;
    apiKeyId: string | null;
    actor: string | null;
    user: string | null;
    traceId: string | null;
    metadata?: unknown;
    metadataError: string | null;
    method: string | null;
    tool: string | null;
    action: string;
    ruleIndex: number | null;
    policyVersion: number | null;
    upstreamStatus: number | null;
    latencyMs: number | null;
    errorCode: string | null;
    /** What happened after the decision (calls only; null for admin, anomaly, session, auth rows) */
    outcome:
      | 'ok'
      | 'upstream_rejected'
      | 'upstream_error'
      | 'timeout'
      | 'outcome_unknown'
      | 'refused'
      | null;
    details?: unknown;
    /** LLM calls: the model as the caller named it */
    model: string | null;
    /** LLM calls: prompt tokens as the provider reported them (cache reads and writes included) */
    inputTokens: number | null;
    /** LLM calls: prompt tokens read from cache */
    cachedInputTokens: number | null;
    /** LLM calls: completion tokens (reasoning included) */
    outputTokens: number | null;
    /** LLM calls: reasoning tokens, where reported */
    reasoningTokens: number | null;
    /** LLM calls: cost in USD from the price table or an organization override; null when unpriced */
    costUsd: number | null;
    /** ISO 8601 */
    createdAt: string;
  };
  AuditEventPage: {
    events: Array<Schemas['AuditEvent']>;
    /** Pass as `cursor` for the next page; null at the end */
    nextCursor: string | null;
  };
  AuditVerifyReport: {
    ok: boolean;
    chains: Array<{
      chain: string;
      anchor: number;
      links: number;
      head: number;
      broken: {
        chain: string;
        seq: number;
        eventId: string;
        reason:
          | 'link_missing'
          | 'link_mismatch'
          | 'link_altered'
          | 'row_altered'
          | 'row_missing';
      } | null;
    }>;
    rowsChecked: number;
    firstBroken: {
      chain: string;
      seq: number;
      eventId: string;
      reason:
        | 'link_missing'
        | 'link_mismatch'
        | 'link_altered'
        | 'row_altered'
        | 'row_missing';
    } | null;
    unchained: {
      count: number;
      eventIds: Array<string>;
    };
  };
  Budget: {
    id: string;
    name: string;
    scope: 'org' | 'team' | 'apiKey' | 'user';
    scopeRef: string | null;
    limitUsd: number;
    warnAtPercent: number;
    enforcement: 'block' | 'warn';
    resetDay: number;
    timezone: string;
    createdAt: string;
    updatedAt: string;
  };
  BudgetStatus: {
    spentUsd: number;
    reservedUsd: number;
    inFlight: number;
    remainingUsd: number;
    percent: number;
    periodStart: string;
    periodEnd: string;
    warned: boolean;
  } | null;
  BudgetWithStatus: Schemas['Budget'] & ({
    status: Schemas['BudgetStatus'];
    history?: Array<{
      periodStart: string;
      periodEnd: string;
      spentUsd: number;
      closedBy: string;
    }>;
  });
  Connection: {
    id: string;
    slug: string;
    name: string;
    type: 'mcp' | 'llm' | 'a2a';
    upstreamUrl: string;
    authType: 'bearer' | 'header' | 'query' | 'none';
    authHeaderName: string | null;
    authQueryParam: string | null;
    hasCredential: boolean;
    enabled: boolean;
    settings: {
      /**
       * minimum 1024, maximum 10485760
       * @default 1048576
       */
      maxBodyBytes?: number;
      /**
       * minimum 1, maximum 1000
       * @default 100
       */
      maxBatchMessages?: number;
      /** @default "closed" */
      failMode?: 'closed' | 'open';
      toolLabels?: {
        [key: string]: Array<string>;
      };
      /**
       * maxItems 50
       * @default []
       */
      allowedOrigins?: Array<string>;
      /**
       * maxItems 200
       * @default []
       */
      sharedWith?: Array<string>;
      /** maxItems 100 */
      allowedTeams?: Array<string>;
      logContent?: boolean;
      /** minLength 1, maxLength 64 */
      provider?: string;
      /** maxItems 100 */
      allowedModels?: Array<string>;
      sharedProviderObjects?: boolean;
      /**
       * minimum 1000, maximum 300000
       * @default 60000
       */
      upstreamTimeoutMs?: number;
      /**
       * minimum 1000, maximum 3600000
       * @default 300000
       */
      streamIdleTimeoutMs?: number;
      /**
       * minimum 1000, maximum 3600000
       * @default 570000
       */
      heldStreamTimeoutMs?: number;
      anomaly?: {
        /** minimum 1, maximum 1000 */
        rateSpikeMultiplier?: number;
        /** maxItems 100 */
        destructivePatterns?: Array<string>;
      };
      /** @default {"discovery":"alert","quarantineOnCritical":false,"blockOnCriticalScan":false} */
      integrity?: {
        /** @default "alert" */
        discovery?: 'off' | 'alert' | 'fail_closed';
        /** @default false */
        quarantineOnCritical?: boolean;
        /** @default false */
        blockOnCriticalScan?: boolean;
      };
      inspection?: {
        /**
         * maxItems 20
         * @default []
         */
        packs?: Array<string>;
        overrides?: {
          categories?: {
            sql_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            command_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            path_traversal?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            ssrf?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            xss?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            template_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            prompt_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            jailbreak?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            system_prompt_leak?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            secret?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            pii?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            obfuscation?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            exfiltration?: 'block' | 'redact' | 'alert' | 'log' | 'off';
          };
          rules?: {
            [key: string]: 'block' | 'redact' | 'alert' | 'log' | 'off';
          };
        };
        /** @default true */
        redactResults?: boolean;
        /** @default "pass" */
        streamMode?: 'pass' | 'hold';
      };
      oauth?: {
        /** @default true */
        enabled?: boolean;
        /**
         * maxItems 2
         * @default ["gateway:call","offline_access"]
         */
        scopes?: Array<'gateway:call' | 'offline_access'>;
        /** @default "open" */
        registration?: 'open' | 'approved';
        /**
         * maxItems 200
         * @default []
         */
        approvedClients?: Array<string>;
      };
      upstreamOAuth?: {
        /** format "uri", maxLength 500 */
        issuer: string;
        /** minLength 1, maxLength 256 */
        clientId: string;
        /**
         * maxItems 50
         * @default []
         */
        scopes?: Array<string>;
        /** format "uri", maxLength 500 */
        resource?: string;
        /** format "uri", maxLength 500 */
        authorizationEndpoint?: string;
        /** format "uri", maxLength 500 */
        tokenEndpoint?: string;
      };
      approvals?: {
        /**
         * minimum 1, maximum 86400
         * @default 900
         */
        expirySeconds?: number;
        /** @default "admin" */
        approverRole?: 'owner' | 'admin' | 'developer';
        /**
         * minimum 1, maximum 1000
         * @default 100
         */
        maxPendingPerCaller?: number;
      };
    };
    createdBy: string | null;
    createdAt: string;
    updatedAt: string;
    lastUsedAt: string | null;
    /**
     * Where clients call it: `<base>/v1/mcp/<slug>` (mcp), `<base>/llm/<slug>/v1` (llm: the OpenAI SDK baseURL; the Anthropic SDK takes it without /v1), `<base>/v1/a2a/<slug>` (a2a: its card is at `/.well-known/agent-card.json` below it)
     * @example "https://gateway.example.com/v1/mcp/github-prod"
     */
    gatewayUrl: string;
    health?: Schemas['ConnectionHealth'];
    /** Upstream OAuth mode: whether the caller (and only the caller) linked their own upstream account; null when there is nothing of theirs to link (not in upstream mode, or the caller may not use the connection). GET responses only */
    upstreamLinked?: boolean | null;
  };
  /** Upstream health over the last hour (GET responses only) */
  ConnectionHealth: {
    /** idle: no forwarded call in the window; ok: no upstream failure; failing: half or more failed; degraded: some failed */
    status: 'idle' | 'ok' | 'degraded' | 'failing';
    windowSeconds: number;
    /** Forwarded calls in the window (at most the newest 1,000) */
    calls: number;
    /** Of those, upstream failures (unreachable, 5xx, timeout) */
    errors: number;
    /** errors / calls, rounded to 3 decimals (0 when idle) */
    errorRate: number;
    /** The most recent upstream failure in the window */
    lastError: {
      /** ISO 8601 */
      at: string;
      outcome: 'upstream_error' | 'timeout';
      upstreamStatus: number | null;
      errorCode: string | null;
    } | null;
  };
  CreateApiKey: {
    /**
     * minLength 1, maxLength 200
     * @example "CI deploy key"
     */
    name: string;
    /** Defaults to the caller's role; a key may not exceed its creator's role */
    role?: 'owner' | 'admin' | 'developer' | 'auditor';
  };
  CreateBudget: {
    /** maxLength 100 */
    name?: string;
    scope: 'org' | 'team' | 'apiKey' | 'user';
    /** minLength 1, maxLength 256 */
    scopeRef?: string;
    /** maximum 1000000 */
    limitUsd: number;
    /**
     * minimum 1, maximum 100
     * @default 80
     */
    warnAtPercent?: number;
    /** @default "block" */
    enforcement?: 'block' | 'warn';
    /**
     * minimum 1, maximum 28
     * @default 1
     */
    resetDay?: number;
    /**
     * minLength 1, maxLength 64
     * @default "UTC"
     */
    timezone?: string;
  };
  CreateConnection: {
    /**
     * pattern "^[a-z0-9_-]*$", minLength 3, maxLength 64
     * @example "github-prod"
     */
    slug: string;
    /**
     * minLength 1, maxLength 200
     * @example "GitHub Production"
     */
    name: string;
    /**
     * Required for mcp connections. llm connections: the provider base URL, optional when the catalog has one (required for azure-openai, ollama, openai-compatible)
     * maxLength 2048
     * @example "https://mcp.github.com"
     */
    upstreamUrl?: string;
    /** @default "mcp" */
    type?: 'mcp' | 'llm' | 'a2a';
    /** Default bearer for mcp connections; llm connections default to the provider's credential style */
    authType?: 'bearer' | 'header' | 'query' | 'none';
    /** pattern "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$", minLength 1, maxLength 64 */
    authHeaderName?: string;
    /**
     * authType "query": the query parameter the credential is sent in
     * pattern "^[A-Za-z0-9._~-]+$", minLength 1, maxLength 64
     * @example "api_key"
     */
    authQueryParam?: string;
    /**
     * Write-only. Encrypted at rest; never returned.
     * minLength 1, maxLength 8192
     */
    credential?: string;
    settings?: {
      /** minimum 1024, maximum 10485760 */
      maxBodyBytes?: number;
      /** minimum 1, maximum 1000 */
      maxBatchMessages?: number;
      failMode?: 'closed' | 'open';
      toolLabels?: {
        [key: string]: Array<string>;
      };
      /** maxItems 50 */
      allowedOrigins?: Array<string>;
      /** maxItems 200 */
      sharedWith?: Array<string>;
      /** maxItems 100 */
      allowedTeams?: Array<string>;
      logContent?: boolean;
      /** minLength 1, maxLength 64 */
      provider?: string;
      /** maxItems 100 */
      allowedModels?: Array<string>;
      sharedProviderObjects?: boolean;
      /** minimum 1000, maximum 300000 */
      upstreamTimeoutMs?: number;
      /** minimum 1000, maximum 3600000 */
      streamIdleTimeoutMs?: number;
      /** minimum 1000, maximum 3600000 */
      heldStreamTimeoutMs?: number;
      anomaly?: {
        /** minimum 1, maximum 1000 */
        rateSpikeMultiplier?: number;
        /** maxItems 100 */
        destructivePatterns?: Array<string>;
      };
      integrity?: {
        /** @default "alert" */
        discovery?: 'off' | 'alert' | 'fail_closed';
        /** @default false */
        quarantineOnCritical?: boolean;
        /** @default false */
        blockOnCriticalScan?: boolean;
      };
      inspection?: {
        /**
         * maxItems 20
         * @default []
         */
        packs?: Array<string>;
        overrides?: {
          categories?: {
            sql_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            command_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            path_traversal?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            ssrf?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            xss?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            template_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            prompt_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            jailbreak?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            system_prompt_leak?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            secret?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            pii?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            obfuscation?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            exfiltration?: 'block' | 'redact' | 'alert' | 'log' | 'off';
          };
          rules?: {
            [key: string]: 'block' | 'redact' | 'alert' | 'log' | 'off';
          };
        };
        /** @default true */
        redactResults?: boolean;
        /** @default "pass" */
        streamMode?: 'pass' | 'hold';
      };
      oauth?: {
        /** @default true */
        enabled?: boolean;
        /**
         * maxItems 2
         * @default ["gateway:call","offline_access"]
         */
        scopes?: Array<'gateway:call' | 'offline_access'>;
        /** @default "open" */
        registration?: 'open' | 'approved';
        /**
         * maxItems 200
         * @default []
         */
        approvedClients?: Array<string>;
      };
      upstreamOAuth?: {
        /** format "uri", maxLength 500 */
        issuer: string;
        /** minLength 1, maxLength 256 */
        clientId: string;
        /**
         * maxItems 50
         * @default []
         */
        scopes?: Array<string>;
        /** format "uri", maxLength 500 */
        resource?: string;
        /** format "uri", maxLength 500 */
        authorizationEndpoint?: string;
        /** format "uri", maxLength 500 */
        tokenEndpoint?: string;
      };
      approvals?: {
        /**
         * minimum 1, maximum 86400
         * @default 900
         */
        expirySeconds?: number;
        /** @default "admin" */
        approverRole?: 'owner' | 'admin' | 'developer';
        /**
         * minimum 1, maximum 1000
         * @default 100
         */
        maxPendingPerCaller?: number;
      };
    };
    /**
     * a2a connections: the agent’s base URL (its card is read from /.well-known/agent-card.json) or its AgentCard URL. upstreamUrl is taken as this when absent
     * maxLength 2048
     * @example "https://agent.example.com"
     */
    agentCardUrl?: string;
    /** a2a connections: the AgentCard JSON itself, pasted instead of fetched */
    agentCard?: {
      [key: string]: unknown;
    };
  };
  CreateKillSwitch: {
    /** organization (target: the organization id), connection (connection id or slug), session (agent session id), apiKey (API key id), user (an X-Igris-User value) */
    scope: 'organization' | 'connection' | 'user' | 'apiKey' | 'session';
    /**
     * minLength 1, maxLength 256
     * @example "con_…"
     */
    target: string;
    /**
     * maxLength 500
     * @example "Agent deleting production data"
     */
    reason?: string;
  };
  CreateMetricsToken: {
    /**
     * minLength 1, maxLength 200
     * @example "prometheus"
     */
    name: string;
  };
  CreateScan: ({
    /**
     * minLength 1, maxLength 64
     * @example "github-prod"
     */
    connection: string;
  }) | ({
    /**
     * A bare URL: scanned without a credential
     * format "uri", maxLength 2048
     * @example "https://mcp.example.com/mcp"
     */
    url: string;
  });
  CreateSystemPrompt: {
    /** minLength 1, maxLength 100 */
    name: string;
    /** minLength 1, maxLength 20000 */
    text: string;
  };
  CreateTeam: {
    /** pattern "^[A-Za-z0-9][A-Za-z0-9 _.-]*$", minLength 1, maxLength 64 */
    name: string;
    /** maxLength 500 */
    description?: string;
  };
  CreatedApiKey: {
    id: string;
    name: string;
    role: 'owner' | 'admin' | 'developer' | 'auditor';
    prefix: string;
    createdAt: string;
    /**
     * The secret key (ig_…). Shown only in this response: only its hash is stored.
     * @example "ig_AbC1234…"
     */
    key: string;
  };
  DetectionPack: {
    name: string;
    description: string;
    rules: Array<string>;
    categories: Array<
      | 'sql_injection'
      | 'command_injection'
      | 'path_traversal'
      | 'ssrf'
      | 'xss'
      | 'template_injection'
      | 'prompt_injection'
      | 'jailbreak'
      | 'system_prompt_leak'
      | 'secret'
      | 'pii'
      | 'obfuscation'
      | 'exfiltration'>;
    minSeverity: 'critical' | 'high' | 'medium' | 'low' | null;
    custom: boolean;
  };
  DetectionPackListed: Schemas['DetectionPack'] & ({
    createdBy: string | null;
    canEdit: boolean;
  });
  DetectionRule: {
    id: string;
    category:
      | 'sql_injection'
      | 'command_injection'
      | 'path_traversal'
      | 'ssrf'
      | 'xss'
      | 'template_injection'
      | 'prompt_injection'
      | 'jailbreak'
      | 'system_prompt_leak'
      | 'secret'
      | 'pii'
      | 'obfuscation'
      | 'exfiltration';
    severity: 'critical' | 'high' | 'medium' | 'low';
    where: Array<'args' | 'result' | 'prompt' | 'completion'>;
    action: 'block' | 'redact' | 'alert' | 'log';
    description: string;
    references: Array<string>;
    custom: boolean;
    definition?: {
      [key: string]: unknown;
    };
  };
  DetectionRuleListed: Schemas['DetectionRule'] & ({
    createdBy: string | null;
    canEdit: boolean;
  });
  DetectionScan: {
    /** maxLength 1048576 */
    text: string;
    where?: 'args' | 'result' | 'prompt' | 'completion';
    /** maxItems 20 */
    packs?: Array<string>;
  };
  Error: {
    error: {
      code:
        | 'bad_request'
        | 'validation_failed'
        | 'parse_error'
        | 'invalid_request'
        | 'header_mismatch'
        | 'unauthorized'
        | 'forbidden'
        | 'origin_forbidden'
        | 'csrf_failed'
        | 'principal_killed'
        | 'not_found'
        | 'method_not_allowed'
        | 'not_acceptable'
        | 'conflict'
        | 'payload_too_large'
        | 'unsupported_media_type'
        | 'connection_disabled'
        | 'connection_forbidden'
        | 'method_not_found'
        | 'policy_denied'
        | 'content_blocked'
        | 'inspection_unmaskable'
        | 'budget_exceeded'
        | 'tool_not_approved'
        | 'connection_blocked'
        | 'approval_required'
        | 'upstream_auth_required'
        | 'task_not_found'
        | 'mcp_task_not_found'
        | 'unsolicited_response'
        | 'context_not_found'
        | 'response_not_found'
        | 'object_not_found'
        | 'conversation_unverifiable'
        | 'shared_object_refused'
        | 'rate_limited'
        | 'approvals_pending_limit'
        | 'limit_reached'
        | 'pruned'
        | 'internal'
        | 'mail_not_configured'
        | 'guard_unavailable'
        | 'policy_unavailable'
        | 'metrics_unavailable'
        | 'session_suspended'
        | 'upstream_unreachable'
        | 'upstream_timeout'
        | 'upstream_too_large'
        | 'upstream_invalid_answer';
      message: string;
      details?: unknown;
    };
  };
  KillSwitch: {
    id: string;
    scope: 'organization' | 'connection' | 'user' | 'apiKey' | 'session';
    target: string;
    reason: string | null;
    active: boolean;
    createdBy: string | null;
    createdAt: string;
    liftedAt: string | null;
    liftedBy: string | null;
  };
  LangfuseSettings: {
    enabled: boolean;
    host: string;
    publicKey: string;
    hasSecretKey: true;
    updatedAt: string;
  } | null;
  LangfuseSettingsPut: {
    /**
     * The Langfuse base URL (https, public host), e.g. https://cloud.langfuse.com
     * minLength 1, maxLength 2000
     */
    host: string;
    /**
     * The project's public key (pk-lf-…)
     * minLength 1, maxLength 200
     */
    publicKey: string;
    /**
     * The project's secret key (sk-lf-…). Stored encrypted, never returned. Omit to keep the stored one
     * minLength 1, maxLength 500
     */
    secretKey?: string;
    /** @default true */
    enabled?: boolean;
  };
  LlmPriceOverride: {
    provider: string;
    model: string;
    inputPerMTok: number;
    cachedInputPerMTok: number | null;
    outputPerMTok: number;
    updatedBy: string | null;
    updatedAt: string;
  };
  LlmPrices: {
    table: {
      version: string;
      effectiveDate: string;
      source: {
        name: string;
        url: string;
      };
    };
    overrides: Array<Schemas['LlmPriceOverride']>;
  };
  LlmProvider: {
    /** @example "openai" */
    id: string;
    /** @example "OpenAI" */
    name: string;
    /** Request, usage and error shapes */
    family: 'openai' | 'anthropic';
    /** The default upstream base URL; null when the connection must give upstreamUrl */
    baseUrl: string | null;
    exampleBaseUrl: string | null;
    upstreamUrl: 'optional' | 'required';
    /** How the provider credential is sent (query: as ?<param>=) */
    auth: {
      style: 'bearer' | 'x-api-key' | 'api-key' | 'query' | 'none';
      param?: string;
    };
    endpoints: Array<
      | 'chat.completions'
      | 'completions'
      | 'responses'
      | 'embeddings'
      | 'models'
      | 'images.generate'
      | 'audio.transcriptions'
      | 'audio.speech'
      | 'moderations'
      | 'messages'
      | 'messages.count_tokens'
      | 'responses.input_tokens'>;
    docs: string;
  };
  LlmProviderCatalog: {
    version: number;
    updated: string;
    providers: Array<Schemas['LlmProvider']>;
  };
  LlmUsage: {
    from: string;
    to: string;
    groupBy: 'model' | 'connection' | 'apiKey' | 'user' | 'day';
    totals: Schemas['LlmUsageFigures'];
    groups: Array<{
      /** Model, connection id, API key id, end user, or UTC day (YYYY-MM-DD); null when absent */
      key: string | null;
      /** Connection slug or API key name; else the key */
      label: string | null;
      requests: number;
      inputTokens: number;
      cachedInputTokens: number;
      outputTokens: number;
      reasoningTokens: number;
      /** USD over priced calls */
      costUsd: number;
      /** Calls with no cost (unknown model, no usage reported) */
      unpriced: number;
    }>;
    truncated: boolean;
  };
  LlmUsageFigures: {
    requests: number;
    inputTokens: number;
    cachedInputTokens: number;
    outputTokens: number;
    reasoningTokens: number;
    /** USD over priced calls */
    costUsd: number;
    /** Calls with no cost (unknown model, no usage reported) */
    unpriced: number;
  };
  Member: {
    id: string;
    userId: string;
    email: string;
    name: string;
    role: 'owner' | 'admin' | 'developer' | 'auditor';
    createdAt: string;
  };
  MetricsToken: {
    id: string;
    name: string;
    prefix: string;
    createdAt: string;
    revokedAt: string | null;
  };
  NotifyChannel: {
    id: string;
    name: string;
    type: 'webhook' | 'slack' | 'siem';
    format: 'ndjson' | 'cef' | 'splunk_hec' | 'elastic_bulk' | null;
    /** For Slack only the origin: the webhook path is a secret */
    url: string;
    /** A signing secret or token is stored (never returned) */
    hasSecret: boolean;
    minSeverity: 'critical' | 'high' | 'medium' | 'low' | 'info';
    eventTypes: Array<string> | null;
    enabled: boolean;
    createdAt: string;
    updatedAt: string;
  };
  /** webhook: JSON signed with `secret` (HMAC-SHA256); slack: an incoming-webhook URL (kept secret); siem: a collector URL, a format and an optional token */
  NotifyChannelCreate: ({
    type: 'webhook';
    /** minLength 1, maxLength 100 */
    name: string;
    /** minLength 1, maxLength 2000 */
    url: string;
    /** minLength 16, maxLength 200 */
    secret: string;
    /** @default "info" */
    minSeverity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
    /**
     * maxItems 20
     * @default null
     */
    eventTypes?: Array<
      | 'kill_switch'
      | 'detection'
      | 'drift'
      | 'anomaly'
      | 'deny_spike'
      | 'budget'
      | 'policy'
      | 'approval'
      | 'approval_requested'
      | 'approval_decided'> | null;
    /** @default true */
    enabled?: boolean;
  }) | ({
    type: 'slack';
    /** minLength 1, maxLength 100 */
    name: string;
    /** minLength 1, maxLength 2000 */
    url: string;
    /** @default "info" */
    minSeverity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
    /**
     * maxItems 20
     * @default null
     */
    eventTypes?: Array<
      | 'kill_switch'
      | 'detection'
      | 'drift'
      | 'anomaly'
      | 'deny_spike'
      | 'budget'
      | 'policy'
      | 'approval'
      | 'approval_requested'
      | 'approval_decided'> | null;
    /** @default true */
    enabled?: boolean;
  }) | ({
    type: 'siem';
    /** minLength 1, maxLength 100 */
    name: string;
    /** minLength 1, maxLength 2000 */
    url: string;
    format: 'ndjson' | 'cef' | 'splunk_hec' | 'elastic_bulk';
    /** minLength 1, maxLength 500 */
    token?: string;
    /** @default "info" */
    minSeverity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
    /**
     * maxItems 20
     * @default null
     */
    eventTypes?: Array<
      | 'kill_switch'
      | 'detection'
      | 'drift'
      | 'anomaly'
      | 'deny_spike'
      | 'budget'
      | 'policy'
      | 'approval'
      | 'approval_requested'
      | 'approval_decided'> | null;
    /** @default true */
    enabled?: boolean;
  });
  NotifyChannelPatch: {
    /** minLength 1, maxLength 100 */
    name?: string;
    /** minLength 1, maxLength 2000 */
    url?: string;
    /** minLength 16, maxLength 200 */
    secret?: string;
    /** minLength 1, maxLength 500 */
    token?: string | null;
    format?: 'ndjson' | 'cef' | 'splunk_hec' | 'elastic_bulk';
    minSeverity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
    /** maxItems 20 */
    eventTypes?: Array<
      | 'kill_switch'
      | 'detection'
      | 'drift'
      | 'anomaly'
      | 'deny_spike'
      | 'budget'
      | 'policy'
      | 'approval'
      | 'approval_requested'
      | 'approval_decided'> | null;
    enabled?: boolean;
  };
  NotifyDelivery: {
    id: string;
    channelId: string;
    eventType: string;
    alertId: string | null;
    title: string;
    status: 'pending' | 'delivered' | 'dead';
    attempts: number;
    lastError: string | null;
    createdAt: string;
    updatedAt: string;
    deliveredAt: string | null;
  };
  NotifyTestResult: {
    ok: boolean;
    /** http_<status>, timeout, network, redirect, url_refused */
    error: string | null;
  };
  OAuthClient: {
    clientId: string;
    clientName: string | null;
    redirectUris: Array<string>;
    registeredAt: string | null;
    grants: number;
    approvedFor: Array<string>;
  };
  OAuthGrant: {
    id: string;
    clientId: string;
    clientName: string | null;
    userId: string;
    email: string | null;
    connectionId: string | null;
    connectionSlug: string | null;
    scope: Array<string>;
    createdAt: string | null;
    expiresAt: string | null;
  };
  Organization: {
    id: string;
    slug: string;
    name: string;
    /** The caller's role in this organization */
    role: 'owner' | 'admin' | 'developer' | 'auditor';
    settings: Schemas['OrganizationSettings'];
  };
  OrganizationSettings: {
    /** minimum 1, maximum 3650 */
    retentionDays: number;
    defaultFailMode: 'closed' | 'open';
  };
  PolicyDocument: {
    /** Rules, first match wins */
    rules: Array<unknown>;
    /** Required (true) to store an empty rule list, which denies every governed call */
    confirmDenyAll?: boolean;
  };
  PolicyTemplate: {
    id: string;
    name: string;
    description: string;
    rules: Array<unknown>;
  };
  PolicyVersion: {
    version: number;
    rules: Array<unknown>;
    createdBy: string | null;
    createdAt: string;
    rolledBackFrom: number | null;
  };
  /** A rule condition naming an argument the tool's input schema lacks, or with a type that cannot match */
  PolicyWarning: {
    ruleIndex: number;
    path: string;
    tool: string;
    message: string;
  };
  PutLlmPrice: {
    /**
     * minLength 1, maxLength 64
     * @example "openai"
     */
    provider: string;
    /**
     * pattern "^[\\x21-\\x7e]+$", minLength 1, maxLength 256
     * @example "gpt-4o"
     */
    model: string;
    /**
     * USD per 1M uncached prompt tokens
     * minimum 0, maximum 1000000
     * @example 2.5
     */
    inputPerMTok: number;
    /**
     * USD per 1M cached prompt tokens (absent: billed as input)
     * minimum 0, maximum 1000000
     * @example 2.5
     */
    cachedInputPerMTok?: number | null;
    /**
     * USD per 1M completion tokens (reasoning included)
     * minimum 0, maximum 1000000
     * @example 2.5
     */
    outputPerMTok: number;
  };
  RefreshAgentCard: {
    /** A new card to store instead of fetching (required for a pasted card) */
    agentCard?: {
      [key: string]: unknown;
    };
    /**
     * Write-only. The agent's credential for its endpoint, stored with the card; required when the card moves the endpoint to another origin (scheme, host or port) while a credential is stored
     * minLength 1, maxLength 8192
     */
    credential?: string;
  };
  ReplayRequest: {
    /** The draft to replay (not saved) */
    rules: Array<unknown>;
    /**
     * Newest rows to replay (default 500)
     * minimum 1, maximum 5000
     */
    limit?: number;
    /** format "date-time" */
    from?: string;
    /** format "date-time" */
    to?: string;
  };
  ReplayResult: {
    evaluated: number;
    changed: number;
    byRule: {
      [key: string]: number;
    };
    byCaller: {
      [key: string]: number;
    };
    unknownFields: number;
    /** Rows decided by session taint (refused or held for it): not compared, the session history is not replayed */
    sessionTaint: number;
    examples: Array<{
      id: string;
      tool: string;
      caller: string;
      createdAt: string;
      before: {
        action: string;
        ruleIndex: number | null;
      };
      after: {
        action: string;
        ruleIndex: number | null;
        reason: string | null;
      };
    }>;
    window: {
      from: string | null;
      to: string | null;
      rows: number;
    };
  };
  RotateCredential: {
    /** minLength 1, maxLength 8192 */
    credential: string;
  };
  SavedPolicy: Schemas['PolicyVersion'] & ({
    warnings: Array<Schemas['PolicyWarning']>;
  });
  Scan: {
    id: string;
    connection: string | null;
    url: string | null;
    status: 'completed' | 'failed';
    error: string | null;
    server: {
      [key: string]: unknown;
    } | null;
    summary: {
      critical?: number;
      high?: number;
      medium?: number;
      low?: number;
      info?: number;
    };
    suppressed: number;
    createdBy: string | null;
    createdAt: string;
    findings: Array<{
      /** The finding's fingerprint (kind, item, path, match): what a suppression names */
      id: string;
      kind: string;
      severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
      item: string;
      path: string;
      match: string;
      suppression: {
        id: string;
        reason: string;
        by: string;
        at: string;
        expiresAt: string | null;
      } | null;
    }>;
  };
  ScanSuppression: {
    id: string;
    finding: string;
    kind: string;
    item: string;
    reason: string;
    expiresAt: string | null;
    createdBy: string;
    createdAt: string;
  };
  SessionHold: {
    killSwitchId: string;
    scope: 'organization' | 'connection' | 'user' | 'apiKey' | 'session';
    reason: string | null;
    createdAt: string;
  };
  SharedConnection: {
    /** The shared view: the caller may use, not read, it */
    access: 'shared';
    id: string;
    slug: string;
    name: string;
    type: 'mcp' | 'llm' | 'a2a';
    enabled: boolean;
    gatewayUrl: string;
    /** Upstream OAuth mode: the provider the caller links their own account at */
    upstreamOAuth: {
      issuer: string;
    } | null;
    /** Upstream OAuth mode: whether the caller (and only the caller) linked their own upstream account; null when there is nothing of theirs to link (not in upstream mode, or the caller may not use the connection). GET responses only */
    upstreamLinked: boolean | null;
    /** LLM connections: the provider and the model globs it allows */
    llm: {
      provider: string | null;
      allowedModels: Array<string>;
    } | null;
  };
  Simulation: {
    decision: 'allow' | 'deny' | 'alert' | 'approve';
    matched: boolean;
    ruleIndex: number | null;
    reason: string | null;
    policyVersion: number;
    trace: Array<{
      ruleIndex: number;
      matched: boolean;
      why: string;
    }>;
    warnings: Array<Schemas['PolicyWarning']>;
  };
  SimulationRequest: {
    /**
     * The governed name; for an LLM call, the model
     * minLength 1, maxLength 512
     * @example "delete_repo"
     */
    tool: string;
    /**
     * LLM calls: the requested model (rules with a model glob match only requests that have one)
     * minLength 1, maxLength 512
     * @example "gpt-4o-mini"
     */
    model?: string;
    /** LLM calls: the endpoint (rules with endpoints match only requests that have one) */
    endpoint?:
      | 'chat.completions'
      | 'completions'
      | 'responses'
      | 'embeddings'
      | 'models'
      | 'images.generate'
      | 'audio.transcriptions'
      | 'audio.speech'
      | 'moderations'
      | 'messages'
      | 'messages.count_tokens'
      | 'responses.input_tokens'
      | 'passthrough';
    /** maxLength 256 */
    user?: string;
    /** The call's arguments (MCP tool arguments, LLM request fields): what args.* conditions read */
    args?: {
      [key: string]: unknown;
    };
    /** The tool's pinned annotations (readOnlyHint…): what annotations.* conditions read */
    annotations?: {
      readOnlyHint?: boolean;
      destructiveHint?: boolean;
      idempotentHint?: boolean;
      openWorldHint?: boolean;
    };
    metadata?: {
      [key: string]: unknown;
    };
    /** Simulate this draft instead of the current version */
    rules?: Array<unknown>;
  };
  StoredAgentCard: {
    slug: string;
    /** Null for a pasted card */
    cardUrl: string | null;
    fetchedAt: string;
    skills: Array<string>;
    card: {
      [key: string]: unknown;
    };
  };
  SuppressFinding: {
    /** pattern "^[0-9a-f]{64}$" */
    finding: string;
    /** minLength 1, maxLength 500 */
    reason: string;
    /** format "date-time" */
    expiresAt?: string;
  };
  SuspendSession: {
    /**
     * maxLength 500
     * @example "Agent deleting production data"
     */
    reason?: string;
  };
  SystemPrompt: {
    id: string;
    name: string;
    version: number;
    text: string;
    sha256: string;
    assignments: Array<Schemas['SystemPromptAssignment']>;
    versions?: Array<{
      version: number;
      sha256: string;
      createdBy: string | null;
      createdAt: string;
    }>;
    createdAt: string;
    updatedAt: string;
    createdBy: string | null;
    canEdit: boolean;
  };
  SystemPromptAssignment: {
    id: string;
    target: 'connection' | 'team';
    targetId: string;
    priority: number;
    mode: 'prepend' | 'replace';
  };
  SystemPromptAssignmentInput: {
    target: 'connection' | 'team';
    /** minLength 1, maxLength 64 */
    targetId: string;
    /**
     * minimum -1000, maximum 1000
     * @default 0
     */
    priority?: number;
    /** @default "prepend" */
    mode?: 'prepend' | 'replace';
  };
  SystemPromptPreview: {
    /** minLength 1, maxLength 20000 */
    text: string;
    /** maxLength 256 */
    user?: string;
    /** maxLength 64 */
    team?: string;
    /** maxLength 64 */
    connection?: string;
  };
  Team: {
    id: string;
    name: string;
    description: string;
    members: Array<Schemas['TeamMember']>;
    createdAt: string;
    updatedAt: string;
  };
  TeamMember: {
    id: string;
    kind: 'user' | 'external_user' | 'api_key';
    ref: string;
    createdAt: string;
  };
  ToolItem: {
    /** tool, prompt or resource */
    kind: 'tool' | 'prompt' | 'resource';
    /**
     * The tool or prompt name, or the resource URI
     * minLength 1, maxLength 2048
     */
    name: string;
    governedName: string;
    /**
     * SHA-256 of the canonical definition
     * pattern "^[0-9a-f]{64}$"
     */
    fingerprint: string | null;
    version: number;
    removed: boolean;
    quarantined: boolean;
    quarantineReason: string | null;
    /**
     * SHA-256 of the canonical definition
     * pattern "^[0-9a-f]{64}$"
     */
    approvedFingerprint: string | null;
    approved: boolean;
    approvedBy: string | null;
    approvedAt: string | null;
    findings: Array<{
      kind: string;
      severity: 'critical' | 'warning' | 'info';
      path: string;
      match: string;
    }>;
    definition: {
      [key: string]: unknown;
    } | null;
    firstSeen: string;
    lastSeen: string;
  };
  ToolVersion: {
    /** tool, prompt or resource */
    kind: 'tool' | 'prompt' | 'resource';
    /**
     * The tool or prompt name, or the resource URI
     * minLength 1, maxLength 2048
     */
    name: string;
    version: number;
    /**
     * SHA-256 of the canonical definition
     * pattern "^[0-9a-f]{64}$"
     */
    fingerprint: string | null;
    severity: 'critical' | 'warning' | 'info';
    changes: Array<{
      [key: string]: unknown;
    }>;
    findings: Array<{
      kind: string;
      severity: 'critical' | 'warning' | 'info';
      path: string;
      match: string;
    }>;
    definition: {
      [key: string]: unknown;
    } | null;
    seenAt: string;
  };
  Trace: {
    traceId: string;
    /** Oldest first */
    events: Array<Schemas['AuditEvent']>;
    /** True when the trace has more than 1000 events (the oldest 1000 are returned) */
    truncated: boolean;
  };
  TracingSettings: {
    enabled: boolean;
    endpoint: string;
    sampleRate: number;
    protocol: 'http/json' | 'http/protobuf';
    /** The stored headers’ names (values are never returned) */
    headerNames: Array<string>;
    updatedAt: string;
  } | null;
  TracingSettingsPut: {
    /**
     * The OTLP/HTTP traces URL (https, public host), e.g. https://otel.example.com/v1/traces
     * minLength 1, maxLength 2000
     */
    endpoint: string;
    /**
     * Fraction of traces recorded (0..1), decided on the trace id
     * minimum 0, maximum 1
     * @default 1
     */
    sampleRate?: number;
    /** Sent with every export (e.g. an API key). Stored encrypted, never returned. Omit to keep the stored ones; {} to remove them */
    headers?: {
      [key: string]: string;
    };
    /**
     * The OTLP/HTTP encoding: http/json (JSON, the default) or http/protobuf (binary protobuf, application/x-protobuf)
     * @default "http/json"
     */
    protocol?: 'http/json' | 'http/protobuf';
    /** @default true */
    enabled?: boolean;
  };
  UpdateBudget: {
    /** maxLength 100 */
    name?: string;
    /** maximum 1000000 */
    limitUsd?: number;
    /** minimum 1, maximum 100 */
    warnAtPercent?: number;
    enforcement?: 'block' | 'warn';
    /** minimum 1, maximum 28 */
    resetDay?: number;
    /** minLength 1, maxLength 64 */
    timezone?: string;
  };
  UpdateConnection: {
    /** minLength 1, maxLength 200 */
    name?: string;
    /** maxLength 2048 */
    upstreamUrl?: string;
    authType?: 'bearer' | 'header' | 'query' | 'none';
    /** pattern "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$", minLength 1, maxLength 64 */
    authHeaderName?: string | null;
    /** pattern "^[A-Za-z0-9._~-]+$", minLength 1, maxLength 64 */
    authQueryParam?: string | null;
    /**
     * Write-only. Required when upstreamUrl moves to another origin (scheme, host or port), unless keepCredential
     * minLength 1, maxLength 8192
     */
    credential?: string;
    /** Owner only: keep the stored credential although upstreamUrl moves to another origin (the new host receives it) */
    keepCredential?: boolean;
    enabled?: boolean;
    settings?: {
      /** minimum 1024, maximum 10485760 */
      maxBodyBytes?: number;
      /** minimum 1, maximum 1000 */
      maxBatchMessages?: number;
      failMode?: 'closed' | 'open';
      toolLabels?: {
        [key: string]: Array<string>;
      };
      /** maxItems 50 */
      allowedOrigins?: Array<string>;
      /** maxItems 200 */
      sharedWith?: Array<string>;
      /** maxItems 100 */
      allowedTeams?: Array<string>;
      logContent?: boolean;
      /** minLength 1, maxLength 64 */
      provider?: string;
      /** maxItems 100 */
      allowedModels?: Array<string>;
      sharedProviderObjects?: boolean;
      /** minimum 1000, maximum 300000 */
      upstreamTimeoutMs?: number;
      /** minimum 1000, maximum 3600000 */
      streamIdleTimeoutMs?: number;
      /** minimum 1000, maximum 3600000 */
      heldStreamTimeoutMs?: number;
      anomaly?: {
        /** minimum 1, maximum 1000 */
        rateSpikeMultiplier?: number;
        /** maxItems 100 */
        destructivePatterns?: Array<string>;
      };
      integrity?: {
        /** @default "alert" */
        discovery?: 'off' | 'alert' | 'fail_closed';
        /** @default false */
        quarantineOnCritical?: boolean;
        /** @default false */
        blockOnCriticalScan?: boolean;
      };
      inspection?: {
        /**
         * maxItems 20
         * @default []
         */
        packs?: Array<string>;
        overrides?: {
          categories?: {
            sql_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            command_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            path_traversal?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            ssrf?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            xss?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            template_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            prompt_injection?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            jailbreak?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            system_prompt_leak?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            secret?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            pii?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            obfuscation?: 'block' | 'redact' | 'alert' | 'log' | 'off';
            exfiltration?: 'block' | 'redact' | 'alert' | 'log' | 'off';
          };
          rules?: {
            [key: string]: 'block' | 'redact' | 'alert' | 'log' | 'off';
          };
        };
        /** @default true */
        redactResults?: boolean;
        /** @default "pass" */
        streamMode?: 'pass' | 'hold';
      };
      oauth?: {
        /** @default true */
        enabled?: boolean;
        /**
         * maxItems 2
         * @default ["gateway:call","offline_access"]
         */
        scopes?: Array<'gateway:call' | 'offline_access'>;
        /** @default "open" */
        registration?: 'open' | 'approved';
        /**
         * maxItems 200
         * @default []
         */
        approvedClients?: Array<string>;
      };
      upstreamOAuth?: {
        /** format "uri", maxLength 500 */
        issuer: string;
        /** minLength 1, maxLength 256 */
        clientId: string;
        /**
         * maxItems 50
         * @default []
         */
        scopes?: Array<string>;
        /** format "uri", maxLength 500 */
        resource?: string;
        /** format "uri", maxLength 500 */
        authorizationEndpoint?: string;
        /** format "uri", maxLength 500 */
        tokenEndpoint?: string;
      };
      approvals?: {
        /**
         * minimum 1, maximum 86400
         * @default 900
         */
        expirySeconds?: number;
        /** @default "admin" */
        approverRole?: 'owner' | 'admin' | 'developer';
        /**
         * minimum 1, maximum 1000
         * @default 100
         */
        maxPendingPerCaller?: number;
      };
    };
  };
  UpdateMember: {
    role: 'owner' | 'admin' | 'developer' | 'auditor';
  };
  UpdateOrganization: {
    /** minLength 1, maxLength 200 */
    name?: string;
    settings?: {
      /** minimum 1, maximum 3650 */
      retentionDays?: number;
      defaultFailMode?: 'closed' | 'open';
    };
  };
  UpdateSystemPrompt: {
    /** minLength 1, maxLength 100 */
    name?: string;
    /** minLength 1, maxLength 20000 */
    text?: string;
  };
  UpdateTeam: {
    /** pattern "^[A-Za-z0-9][A-Za-z0-9 _.-]*$", minLength 1, maxLength 64 */
    name?: string;
    /** maxLength 500 */
    description?: string;
  };
  UpstreamOAuthLink: {
    connection: string;
    linked: boolean;
    /** Open in a browser signed in to the dashboard to link */
    connectUrl: string;
    expiresAt: string | null;
    scope: string | null;
    linkedAt: string | null;
  };
  XaaIssuer: {
    id: string;
    issuer: string;
    jwksUri: string;
    algorithms: Array<string>;
    clients: Array<string>;
    createdAt: string;
  };
  XaaRevocation: {
    id: string;
    issuer: string;
    kind: 'jti' | 'subject';
    value: string;
    createdAt: string;
  };
  XaaStats: {
    since: string;
    exchanges: number;
    refused: number;
    refusedByReason: {
      [key: string]: number;
    };
    byIssuer: {
      [key: string]: {
        exchanges: number;
        refused: number;
      };
    };
  };
}

/**
 * Every operation, by path (relative to /api/v1) and method: its path and query parameters,
 * its JSON body (`never` when it takes none) and its responses by status.
 */
export interface Paths {
  '/alerts': {
    /** List alerts, most recently seen first (filters, cursor pagination) */
    get: {
      path: never;
      query: {
        status?: 'open' | 'acknowledged' | 'resolved' | 'dismissed';
        type?:
          | 'kill_switch'
          | 'detection'
          | 'drift'
          | 'anomaly'
          | 'deny_spike'
          | 'approval'
          | 'budget'
          | 'policy';
        severity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
        /** maxLength 64 */
        connectionId?: string;
        /** maxLength 200 */
        cursor?: string;
        /**
         * minimum 1, maximum 200
         * @default 50
         */
        limit?: number;
      };
      body: never;
      responses: {
        /** A page of alerts */
        200: Schemas['AlertPage'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/alerts/bulk': {
    /** Change the status of many alerts at once */
    post: {
      path: never;
      query: never;
      body: Schemas['AlertBulk'];
      responses: {
        /** What changed, and what could not */
        200: {
          updated: Array<string>;
          failed: Array<{
            id: string;
            code: string;
          }>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/alerts/channels': {
    /** List notification channels (secrets are never returned) */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** The channels */
        200: {
          channels: Array<Schemas['NotifyChannel']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Add a webhook, Slack or SIEM channel */
    post: {
      path: never;
      query: never;
      body: Schemas['NotifyChannelCreate'];
      responses: {
        /** The channel */
        201: Schemas['NotifyChannel'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/alerts/channels/{id}': {
    /** One channel */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "nch_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** The channel */
        200: Schemas['NotifyChannel'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Delete a channel and its deliveries */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "nch_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Deleted */
        204: undefined;
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Change a channel: name, URL, secret or token, format, routing, enabled */
    patch: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "nch_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: Schemas['NotifyChannelPatch'];
      responses: {
        /** The channel */
        200: Schemas['NotifyChannel'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/alerts/channels/{id}/test': {
    /** Send a test notification now (one attempt, no retries) */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "nch_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Whether the channel accepted it */
        200: Schemas['NotifyTestResult'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/alerts/deliveries': {
    /** Notification deliveries, newest first (status=dead: the dead-letter list) */
    get: {
      path: never;
      query: {
        status?: 'pending' | 'delivered' | 'dead';
        /** maxLength 64 */
        channelId?: string;
        /** maxLength 200 */
        cursor?: string;
        /**
         * minimum 1, maximum 200
         * @default 50
         */
        limit?: number;
      };
      body: never;
      responses: {
        /** A page of deliveries */
        200: {
          deliveries: Array<Schemas['NotifyDelivery']>;
          nextCursor: string | null;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/alerts/deliveries/{id}/replay': {
    /** Send a dead-lettered delivery again (a fresh set of attempts) */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "dlv_0123456789abcdefghijklmn"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** The delivery, pending again */
        200: Schemas['NotifyDelivery'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/alerts/{id}': {
    /** Acknowledge, resolve, dismiss or reopen an alert; set its assignee or comment */
    patch: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "alt_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: Schemas['AlertPatch'];
      responses: {
        /** The alert */
        200: Schemas['Alert'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/api-keys': {
    /** List API keys (Developers and Auditors see only their own); never the secrets */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** API keys, oldest first */
        200: {
          apiKeys: Array<Schemas['ApiKey']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Create an API key: the key is in this response only, and is never shown again */
    post: {
      path: never;
      query: never;
      body: Schemas['CreateApiKey'];
      responses: {
        /** Created (the only time `key` is returned) */
        201: Schemas['CreatedApiKey'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/api-keys/{id}': {
    /** Revoke an API key: the next call made with it is refused with 401 */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "key_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Revoked */
        200: Schemas['ApiKey'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/approvals': {
    /** List approvals, newest first (filter by status or connection) */
    get: {
      path: never;
      query: {
        status?: 'pending' | 'approved' | 'denied' | 'used' | 'expired';
        /** maxLength 64 */
        connectionId?: string;
        /**
         * minimum 1, maximum 200
         * @default 50
         */
        limit?: number;
      };
      body: never;
      responses: {
        /** Approvals */
        200: Schemas['ApprovalList'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/approvals/{id}': {
    /** One approval: the held call (tool, arguments, caller) and its status */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "apr_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** The approval */
        200: Schemas['Approval'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/approvals/{id}/approve': {
    /** Approve a held call: the identical call then passes once, until the approval expires */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "apr_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: Schemas['ApprovalDecision'];
      responses: {
        /** The approval */
        200: Schemas['Approval'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/approvals/{id}/deny': {
    /** Deny a held call: the identical call is refused until the approval would have expired */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "apr_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: Schemas['ApprovalDecision'];
      responses: {
        /** The approval */
        200: Schemas['Approval'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/audit-events': {
    /** List audit events, newest first (cursor pagination) */
    get: {
      path: never;
      query: {
        /**
         * Connection slug or id
         * minLength 1, maxLength 256
         */
        connection?: string;
        /**
         * Trace id (X-Igris-Trace-Id)
         * minLength 1, maxLength 128
         */
        traceId?: string;
        /**
         * End user (X-Igris-User)
         * minLength 1, maxLength 256
         */
        user?: string;
        /**
         * Tool (or `resource:…` / `prompt:…`) name
         * minLength 1, maxLength 512
         */
        tool?: string;
        /**
         * allow, deny, alert, error, killed, rate_limited, pass, unauthenticated … or an admin verb
         * minLength 1, maxLength 64
         */
        action?: string;
        /** Event type */
        type?:
          | 'tool_call'
          | 'llm_call'
          | 'a2a_call'
          | 'request'
          | 'admin'
          | 'anomaly'
          | 'session'
          | 'auth';
        /**
         * Agent session id
         * minLength 1, maxLength 128
         */
        session?: string;
        /**
         * LLM model as the caller named it (LLM calls only)
         * minLength 1, maxLength 256
         */
        model?: string;
        /** What happened after the decision: ok, upstream_rejected (4xx), upstream_error (unreachable or 5xx), timeout, outcome_unknown, refused */
        outcome?:
          | 'ok'
          | 'upstream_rejected'
          | 'upstream_error'
          | 'timeout'
          | 'outcome_unknown'
          | 'refused';
        /**
         * `exclude` leaves out protocol lifecycle rows: initialize, ping, notifications/*, and the transport’s GET stream / DELETE session rows
         * @default "include"
         */
        lifecycle?: 'include' | 'exclude';
        /**
         * Only events at or after this time (ISO 8601 or ms)
         * @example "2026-11-01T00:00:00Z"
         */
        from?: string;
        /**
         * Only events before this time (ISO 8601 or ms)
         * @example "2026-11-01T00:00:00Z"
         */
        to?: string;
        /** nextCursor of the previous page */
        cursor?: string;
        /** Page size, 1 to 500 */
        limit?: number;
      };
      body: never;
      responses: {
        /** A page of events */
        200: Schemas['AuditEventPage'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/audit-events/export': {
    /** Export audit events (same filters) as a streamed NDJSON or CSV download */
    get: {
      path: never;
      query: {
        /**
         * Connection slug or id
         * minLength 1, maxLength 256
         */
        connection?: string;
        /**
         * Trace id (X-Igris-Trace-Id)
         * minLength 1, maxLength 128
         */
        traceId?: string;
        /**
         * End user (X-Igris-User)
         * minLength 1, maxLength 256
         */
        user?: string;
        /**
         * Tool (or `resource:…` / `prompt:…`) name
         * minLength 1, maxLength 512
         */
        tool?: string;
        /**
         * allow, deny, alert, error, killed, rate_limited, pass, unauthenticated … or an admin verb
         * minLength 1, maxLength 64
         */
        action?: string;
        /** Event type */
        type?:
          | 'tool_call'
          | 'llm_call'
          | 'a2a_call'
          | 'request'
          | 'admin'
          | 'anomaly'
          | 'session'
          | 'auth';
        /**
         * Agent session id
         * minLength 1, maxLength 128
         */
        session?: string;
        /**
         * LLM model as the caller named it (LLM calls only)
         * minLength 1, maxLength 256
         */
        model?: string;
        /** What happened after the decision: ok, upstream_rejected (4xx), upstream_error (unreachable or 5xx), timeout, outcome_unknown, refused */
        outcome?:
          | 'ok'
          | 'upstream_rejected'
          | 'upstream_error'
          | 'timeout'
          | 'outcome_unknown'
          | 'refused';
        /**
         * `exclude` leaves out protocol lifecycle rows: initialize, ping, notifications/*, and the transport’s GET stream / DELETE session rows
         * @default "include"
         */
        lifecycle?: 'include' | 'exclude';
        /**
         * Only events at or after this time (ISO 8601 or ms)
         * @example "2026-11-01T00:00:00Z"
         */
        from?: string;
        /**
         * Only events before this time (ISO 8601 or ms)
         * @example "2026-11-01T00:00:00Z"
         */
        to?: string;
        /** @default "ndjson" */
        format?: 'ndjson' | 'csv';
      };
      body: never;
      responses: {
        /** The events, newest first, streamed */
        200: string;
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/audit-events/{id}': {
    /** Get one audit event */
    get: {
      path: {
        /**
         * minLength 1, maxLength 128
         * @example "evt_…"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** The event */
        200: Schemas['AuditEvent'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/audit/chain/export': {
    /** The hash chains with their rows, ending in an Ed25519-signed checkpoint (verify offline: igris-edge audit verify) */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** NDJSON (application/x-ndjson): link lines, then the signed checkpoint */
        200: undefined;
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/audit/checkpoints': {
    /** The gateway's periodic Ed25519-signed checkpoints of the audit chains, newest first (verify an export against them: igris-edge audit verify --checkpoints) */
    get: {
      path: never;
      query: {
        /**
         * minimum 1, maximum 500
         * @default 100
         */
        limit?: number;
        /** maxLength 200 */
        cursor?: string;
      };
      body: never;
      responses: {
        /** A page of checkpoints */
        200: Schemas['AuditCheckpointPage'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/audit/signing-key': {
    /** The organization's audit signing public key (pin it when verifying an export offline) */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** The public key (base64url, raw 32 bytes) */
        200: {
          keyId: string;
          publicKey: string;
          algorithm: 'Ed25519';
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/audit/verify': {
    /** Recompute the organization's audit hash chains and report the first broken link of each */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** The verification report */
        200: Schemas['AuditVerifyReport'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/budgets': {
    /** The organization's budgets with their current period's status */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Budgets */
        200: {
          budgets: Array<Schemas['BudgetWithStatus']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Create a monthly budget on the organization, a team, an API key or a user (owner, admin) */
    post: {
      path: never;
      query: never;
      body: Schemas['CreateBudget'];
      responses: {
        /** Created */
        201: Schemas['Budget'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/budgets/{id}': {
    /** One budget: spent, reserved, remaining, percent, the period, and past periods */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "bdg_abc"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** The budget */
        200: Schemas['BudgetWithStatus'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Delete a budget */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "bdg_abc"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Deleted */
        200: {
          deleted: true;
          id: string;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Change a budget (its counters are kept) */
    patch: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "bdg_abc"
         */
        id: string;
      };
      query: never;
      body: Schemas['UpdateBudget'];
      responses: {
        /** Updated */
        200: Schemas['Budget'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/budgets/{id}/reset': {
    /** Reset the current period's spend to zero (audited; the period so far goes to the history) */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "bdg_abc"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** The status after the reset */
        200: Schemas['BudgetStatus'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections': {
    /** List connections */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Connections */
        200: {
          /** A developer's list: their own connections, and those shared with them (settings.sharedWith) as their shared view (access: 'shared') */
          connections: Array<Schemas['Connection'] | Schemas['SharedConnection']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Create a connection */
    post: {
      path: never;
      query: never;
      body: Schemas['CreateConnection'];
      responses: {
        /** Created */
        201: Schemas['Connection'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}': {
    /**
     * Get a connection
     * A developer who may use the connection only because it is shared with them (settings.sharedWith) gets its shared view: what they need to call it
     */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** The connection, or its shared view */
        200: Schemas['Connection'] | Schemas['SharedConnection'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Delete a connection and its policies */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** Deleted */
        200: {
          deleted: true;
          slug: string;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Update a connection (including enabled: false to disable it) */
    patch: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: Schemas['UpdateConnection'];
      responses: {
        /** Updated */
        200: Schemas['Connection'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/agent-card': {
    /** The stored AgentCard of an a2a connection, as the agent published it */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** The card */
        200: Schemas['StoredAgentCard'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/agent-card/refresh': {
    /** Re-fetch the AgentCard (or store a pasted one); changes are audited like drift */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: Schemas['RefreshAgentCard'];
      responses: {
        /** Refreshed */
        200: Schemas['AgentCardRefresh'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/disable': {
    /** Disable a connection: the gateway refuses its calls and forwards nothing */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** Disabled */
        200: Schemas['Connection'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/enable': {
    /** Enable a disabled connection */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** Enabled */
        200: Schemas['Connection'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/policy': {
    /** The connection's current policy (rules: [] and version 0 when none was ever set: every governed call is denied) */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** Current policy */
        200: Schemas['PolicyVersion'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Replace the policy: creates the next version and publishes it to the gateways */
    put: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: Schemas['PolicyDocument'];
      responses: {
        /** The new version, with schema warnings */
        200: Schemas['SavedPolicy'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 8388608 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/policy/replay': {
    /** What-if: evaluate a draft against recorded calls and report the decisions that would change */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: Schemas['ReplayRequest'];
      responses: {
        /** What would change */
        200: Schemas['ReplayResult'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 8388608 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/policy/rollback': {
    /** Make an earlier version current again (as a new version) */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: {
        /** minimum 1 */
        version: number;
      };
      responses: {
        /** The new version */
        200: Schemas['PolicyVersion'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Pruned by retention: details keep its hash, author and times */
        410: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/policy/simulate': {
    /** Decide a hypothetical call: decision, matching rule, and why each earlier rule did not match */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: Schemas['SimulationRequest'];
      responses: {
        /** The decision */
        200: Schemas['Simulation'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 8388608 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/policy/versions': {
    /** The versions that keep their rules (the newest 200), newest first */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** Versions */
        200: {
          versions: Array<Schemas['PolicyVersion']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/policy/versions/{version}': {
    /** One version (what an audit row's policyVersion names); 410 pruned with its hash, author and time once pruned */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
        /**
         * minLength 1, maxLength 16
         * @example "3"
         */
        version: string;
      };
      query: never;
      body: never;
      responses: {
        /** The version */
        200: Schemas['PolicyVersion'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Pruned by retention: details keep its hash, author and times */
        410: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/rotate': {
    /** Replace the stored credential (takes effect on the next gateway call) */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: Schemas['RotateCredential'];
      responses: {
        /** Rotated */
        200: Schemas['Connection'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/scan-suppressions': {
    /** The connection's scan suppressions (expired ones included; they no longer apply) */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** The suppressions */
        200: {
          suppressions: Array<Schemas['ScanSuppression']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/scan-suppressions/{id}': {
    /** Lift a suppression: the finding is reported again. Owner/admin. */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
        /** minLength 1, maxLength 64 */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Lifted */
        204: undefined;
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/tasks': {
    /** The tasks an A2A agent reported through the gateway, most recently updated first */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: {
        /** minLength 1, maxLength 40 */
        state?: string;
        /**
         * updatedAt (ms) to page before
         * minimum 0
         */
        before?: number | null;
        /**
         * minimum 1, maximum 200
         * @default 50
         */
        limit?: number;
      };
      body: never;
      responses: {
        /** Tasks */
        200: {
          tasks: Array<Schemas['A2aTask']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/tasks/{taskId}': {
    /** One A2A task with its state changes and the metadata of its messages */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
        /** minLength 1, maxLength 200 */
        taskId: string;
      };
      query: never;
      body: never;
      responses: {
        /** The task */
        200: Schemas['A2aTaskDetail'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/tools': {
    /** Listed tools, prompts and resources with fingerprints, approval and quarantine state */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** The inventory */
        200: {
          connection: string;
          discovery: 'off' | 'alert' | 'fail_closed';
          quarantineOnCritical: boolean;
          blockOnCriticalScan: boolean;
          scanBlock: {
            scanId: string;
            critical: number;
          } | null;
          items: Array<Schemas['ToolItem']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/tools/approve': {
    /** Approve exact fingerprints (the pinned baseline); lifts their quarantine. Owner/admin. */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: {
        /** maxItems 500 */
        items?: Array<{
          /** tool, prompt or resource */
          kind: 'tool' | 'prompt' | 'resource';
          /**
           * The tool or prompt name, or the resource URI
           * minLength 1, maxLength 2048
           */
          name: string;
          /**
           * SHA-256 of the canonical definition
           * pattern "^[0-9a-f]{64}$"
           */
          fingerprint: string;
        }>;
        all?: true;
      };
      responses: {
        /** The inventory after approval */
        200: {
          connection: string;
          discovery: 'off' | 'alert' | 'fail_closed';
          quarantineOnCritical: boolean;
          blockOnCriticalScan: boolean;
          scanBlock: {
            scanId: string;
            critical: number;
          } | null;
          items: Array<Schemas['ToolItem']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/tools/history': {
    /** Every recorded version of the listed items, newest first, with classified changes */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: {
        /** tool, prompt or resource */
        kind?: 'tool' | 'prompt' | 'resource';
        /**
         * The tool or prompt name, or the resource URI
         * minLength 1, maxLength 2048
         */
        name?: string;
        /**
         * minimum 1, maximum 500
         * @default 100
         */
        limit?: number;
      };
      body: never;
      responses: {
        /** The history */
        200: {
          versions: Array<Schemas['ToolVersion']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/tools/quarantine': {
    /** Quarantine an item: hidden from lists and refused until re-approved. Owner/admin. */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: {
        /** tool, prompt or resource */
        kind: 'tool' | 'prompt' | 'resource';
        /**
         * The tool or prompt name, or the resource URI
         * minLength 1, maxLength 2048
         */
        name: string;
        /** minLength 1, maxLength 200 */
        reason?: string;
      };
      responses: {
        /** The inventory after quarantine */
        200: {
          connection: string;
          discovery: 'off' | 'alert' | 'fail_closed';
          quarantineOnCritical: boolean;
          blockOnCriticalScan: boolean;
          scanBlock: {
            scanId: string;
            critical: number;
          } | null;
          items: Array<Schemas['ToolItem']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/tools/rescan': {
    /** Re-scan the connection's tools for shadowing against the organization's other connections now. Owner/admin. */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "github-prod"
         */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** The inventory after the re-scan */
        200: {
          connection: string;
          discovery: 'off' | 'alert' | 'fail_closed';
          quarantineOnCritical: boolean;
          blockOnCriticalScan: boolean;
          scanBlock: {
            scanId: string;
            critical: number;
          } | null;
          items: Array<Schemas['ToolItem']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/connections/{slug}/upstream-oauth': {
    /** Whether the caller linked their own upstream account for this connection, and where to link it */
    get: {
      path: {
        /** minLength 1, maxLength 64 */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** The link */
        200: Schemas['UpstreamOAuthLink'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Unlink the caller's upstream account from this connection (its stored tokens are deleted) */
    delete: {
      path: {
        /** minLength 1, maxLength 64 */
        slug: string;
      };
      query: never;
      body: never;
      responses: {
        /** Unlinked */
        200: {
          unlinked: boolean;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/detections/packs': {
    /** The built-in packs and the organization’s custom packs */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Packs */
        200: {
          packs: Array<Schemas['DetectionPackListed']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Add a custom pack (rule ids and/or categories, optional minSeverity) */
    post: {
      path: never;
      query: never;
      body: {
        [key: string]: unknown;
      };
      responses: {
        /** Created */
        201: Schemas['DetectionPack'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/detections/packs/{name}': {
    /** Replace a custom pack (validated like a new one; its name cannot change) */
    put: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "team-pack"
         */
        name: string;
      };
      query: never;
      body: {
        [key: string]: unknown;
      };
      responses: {
        /** Updated */
        200: Schemas['DetectionPack'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
    /** Delete a custom pack no connection applies */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "team-pack"
         */
        name: string;
      };
      query: never;
      body: never;
      responses: {
        /** Deleted */
        200: {
          deleted: true;
          name: string;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/detections/rules': {
    /** The built-in detection rules and the organization’s custom rules */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Rules */
        200: {
          rules: Array<Schemas['DetectionRuleListed']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Add a custom rule (validated: schema, a pattern that cannot backtrack or match the empty string, its own examples) */
    post: {
      path: never;
      query: never;
      body: {
        [key: string]: unknown;
      };
      responses: {
        /** Created */
        201: Schemas['DetectionRule'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/detections/rules/{ruleId}': {
    /** Replace a custom rule (validated like a new one; its id cannot change) */
    put: {
      path: {
        /**
         * minLength 1, maxLength 96
         * @example "custom.internal_ticket"
         */
        ruleId: string;
      };
      query: never;
      body: {
        [key: string]: unknown;
      };
      responses: {
        /** Updated */
        200: Schemas['DetectionRule'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
    /** Delete a custom rule */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 96
         * @example "custom.internal_ticket"
         */
        ruleId: string;
      };
      query: never;
      body: never;
      responses: {
        /** Deleted */
        200: {
          deleted: true;
          ruleId: string;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/detections/scan': {
    /** Scan a text with the detection engine (the rule tester, CI pipelines); nothing is stored */
    post: {
      path: never;
      query: never;
      body: Schemas['DetectionScan'];
      responses: {
        /** Findings (offsets into the text, never the matched text) and the risk score, 0–100 */
        200: {
          findings: Array<{
            ruleId: string;
            category:
              | 'sql_injection'
              | 'command_injection'
              | 'path_traversal'
              | 'ssrf'
              | 'xss'
              | 'template_injection'
              | 'prompt_injection'
              | 'jailbreak'
              | 'system_prompt_leak'
              | 'secret'
              | 'pii'
              | 'obfuscation'
              | 'exfiltration';
            severity: 'critical' | 'high' | 'medium' | 'low';
            action: 'block' | 'redact' | 'alert' | 'log';
            start: number;
            end: number;
            encoding?: Array<string>;
          }>;
          riskScore: number;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 8388608 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/events': {
    /**
     * Live events of the organization (Server-Sent Events)
     * tool_call, anomaly, session_update, policy_update and connection_update events, each with an `id:`. Reconnect with `Last-Event-ID` to replay what was missed from a bounded buffer; a `gap` event says when more was missed than it holds. `since` replays first the held events whose timestamp is at or after it, then an `id:` line alone naming where a reconnect resumes. A `: keepalive` comment is sent every 25 seconds.
     */
    get: {
      path: never;
      query: {
        /**
         * Only events of this connection (slug or id)
         * minLength 1, maxLength 128
         */
        connection?: string;
        /**
         * Resume after this event id (the Last-Event-ID header wins)
         * pattern "^\\d{1,15}$"
         */
        lastEventId?: string;
        /**
         * Replay the held events whose timestamp is at or after this time (ISO 8601 or ms), then go live. At most 5 minutes back and not in the future; ignored when resuming with Last-Event-ID or lastEventId.
         * @example "2026-11-01T00:00:00Z"
         */
        since?: string;
      };
      body: never;
      responses: {
        /** The event stream */
        200: string;
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/integrations/langfuse': {
    /** The Langfuse project LLM calls are sent to (the secret key is never returned) */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** The settings, null when not set */
        200: {
          langfuse: Schemas['LangfuseSettings'];
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Send the organization's LLM calls to a Langfuse project (host, public and secret key) */
    put: {
      path: never;
      query: never;
      body: Schemas['LangfuseSettingsPut'];
      responses: {
        /** The settings */
        200: Schemas['LangfuseSettings'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
    /** Stop sending LLM calls to Langfuse and forget the keys */
    delete: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Deleted */
        204: undefined;
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/kill-switch': {
    /** List kill switches, newest first */
    get: {
      path: never;
      query: {
        /** Default: both */
        status?: 'active' | 'lifted';
        scope?: 'organization' | 'connection' | 'user' | 'apiKey' | 'session';
      };
      body: never;
      responses: {
        /** Kill switches */
        200: {
          killSwitches: Array<Schemas['KillSwitch']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Pull a kill switch: matching gateway calls answer 503 "Session Suspended" and their open streams end, everywhere, by the time this answers */
    post: {
      path: never;
      query: never;
      body: Schemas['CreateKillSwitch'];
      responses: {
        /** Already active with this scope and target (pushed again) */
        200: Schemas['KillSwitch'];
        /** Pulled */
        201: Schemas['KillSwitch'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
        /** Recorded, but not every connection confirmed it yet (repeat the request to retry) */
        503: Schemas['Error'];
      };
    };
  };
  '/kill-switch/{id}': {
    /** Get a kill switch */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "ks_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** The kill switch */
        200: Schemas['KillSwitch'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Lift a kill switch (idempotent) */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "ks_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Lifted */
        200: Schemas['KillSwitch'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Recorded, but not every connection confirmed it yet (repeat the request to retry) */
        503: Schemas['Error'];
      };
    };
  };
  '/llm/prices': {
    /** The built-in price table's version and the organization's price overrides */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Prices */
        200: Schemas['LlmPrices'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Set the price of one model for this organization (owner, admin); wins over the built-in table */
    put: {
      path: never;
      query: never;
      body: Schemas['PutLlmPrice'];
      responses: {
        /** The override */
        200: Schemas['LlmPriceOverride'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
    /** Remove a price override (owner, admin); the built-in price applies again */
    delete: {
      path: never;
      query: {
        /**
         * minLength 1, maxLength 64
         * @example "openai"
         */
        provider: string;
        /**
         * pattern "^[\\x21-\\x7e]+$", minLength 1, maxLength 256
         * @example "gpt-4o"
         */
        model: string;
      };
      body: never;
      responses: {
        /** Deleted */
        200: {
          deleted: true;
          provider: string;
          model: string;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/llm/providers': {
    /** The built-in LLM provider catalog (for `settings.provider` of llm connections) */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** The catalog */
        200: Schemas['LlmProviderCatalog'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/llm/usage': {
    /** LLM requests, tokens and cost over a time range, grouped by model, connection, key, user or day */
    get: {
      path: never;
      query: {
        /**
         * From this time (ISO 8601 or ms); default `to` minus 30 days
         * @example "2026-11-01T00:00:00Z"
         */
        from?: string;
        /**
         * Before this time (ISO 8601 or ms); default now
         * @example "2026-11-01T00:00:00Z"
         */
        to?: string;
        /**
         * The dimension of `groups`
         * @default "model"
         */
        groupBy?: 'model' | 'connection' | 'apiKey' | 'user' | 'day';
      };
      body: never;
      responses: {
        /** Usage */
        200: Schemas['LlmUsage'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/members': {
    /** Members of the organization */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Members, oldest first */
        200: {
          members: Array<Schemas['Member']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/members/{id}': {
    /** Remove a member: their API keys stop working at once (the last owner cannot be removed) */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "mem_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Removed */
        200: {
          deleted: true;
          member: Schemas['Member'];
          revokedKeys: number;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Change a member's role (only an owner grants or changes the owner role; one owner always remains) */
    patch: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "mem_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: Schemas['UpdateMember'];
      responses: {
        /** Updated */
        200: Schemas['Member'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/metrics/prometheus': {
    /** The organization's metrics in the Prometheus text format (scraper token or API key) */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Prometheus exposition */
        200: string;
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/metrics/tokens': {
    /** List scraper tokens (never the secrets) */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Tokens */
        200: {
          tokens: Array<Schemas['MetricsToken']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Create a scraper token: the token is in this response only */
    post: {
      path: never;
      query: never;
      body: Schemas['CreateMetricsToken'];
      responses: {
        /** Created (the only time `token` is returned) */
        201: Schemas['MetricsToken'] & ({
          token: string;
        });
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/metrics/tokens/{id}': {
    /** Revoke a scraper token: its next scrape is refused with 401 */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "mtk_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Revoked */
        200: Schemas['MetricsToken'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/oauth/clients': {
    /** OAuth clients with grants in the organization or approved on one of its connections; owner/admin */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Clients */
        200: {
          clients: Array<Schemas['OAuthClient']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/oauth/clients/{clientId}': {
    /** Revoke every grant a client holds in the organization (audited); the registration itself is shared */
    delete: {
      path: {
        /** minLength 1, maxLength 256 */
        clientId: string;
      };
      query: never;
      body: never;
      responses: {
        /** Revoked */
        200: {
          clientId: string;
          revokedGrants: number;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/oauth/grants': {
    /** The organization's active OAuth grants (who let which app call which connection); owner/admin */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Grants */
        200: {
          grants: Array<Schemas['OAuthGrant']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/oauth/grants/{grantId}': {
    /** Revoke a grant: its access and refresh tokens stop working at once (audited) */
    delete: {
      path: {
        /** minLength 1, maxLength 128 */
        grantId: string;
      };
      query: never;
      body: never;
      responses: {
        /** Revoked */
        200: Schemas['OAuthGrant'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/organizations/current': {
    /** The caller's organization, with the caller's role in it */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** The organization */
        200: Schemas['Organization'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Rename the organization or change its settings (retention, default fail mode) */
    patch: {
      path: never;
      query: never;
      body: Schemas['UpdateOrganization'];
      responses: {
        /** Updated */
        200: Schemas['Organization'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/organizations/current/reencrypt-credentials': {
    /** Re-encrypt this organization's stored credentials under the current ENCRYPTION_KEY (master-key rotation; the daily cron does it too) */
    post: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Result */
        200: {
          checked: number;
          reencrypted: number;
          failed: number;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/policy/templates': {
    /** Ready-made policies (read-only by default…), to apply with PUT /connections/{slug}/policy */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** The templates */
        200: {
          templates: Array<Schemas['PolicyTemplate']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/scans': {
    /** Scans, newest first (?connection= one connection); findings are in GET /scans/{id} */
    get: {
      path: never;
      query: {
        /** minLength 1, maxLength 64 */
        connection?: string;
        /**
         * minimum 1, maximum 200
         * @default 50
         */
        limit?: number;
      };
      body: never;
      responses: {
        /** The scans */
        200: {
          scans: Array<{
            id: string;
            connection: string | null;
            url: string | null;
            status: 'completed' | 'failed';
            error: string | null;
            server: {
              [key: string]: unknown;
            } | null;
            summary: {
              critical?: number;
              high?: number;
              medium?: number;
              low?: number;
              info?: number;
            };
            suppressed: number;
            createdBy: string | null;
            createdAt: string;
          }>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Scan a connection's MCP server (with its credential) or a bare URL, and keep the result */
    post: {
      path: never;
      query: never;
      body: Schemas['CreateScan'];
      responses: {
        /** The scan (status failed when the server could not be scanned) */
        201: Schemas['Scan'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/scans/{id}': {
    /** A scan, as JSON or (?format=sarif) SARIF 2.1.0 */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "scn_…"
         */
        id: string;
      };
      query: {
        /** @default "json" */
        format?: 'json' | 'sarif';
      };
      body: never;
      responses: {
        /** The scan (or a SARIF 2.1.0 log) */
        200: Schemas['Scan'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Pruned by retention: details keep its hash, author and times */
        410: Schemas['Error'];
      };
    };
  };
  '/scans/{id}/suppressions': {
    /** Suppress one of the scan's findings for its connection, with a reason. Owner/admin. */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "scn_…"
         */
        id: string;
      };
      query: never;
      body: Schemas['SuppressFinding'];
      responses: {
        /** The suppression */
        201: Schemas['ScanSuppression'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Pruned by retention: details keep its hash, author and times */
        410: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/sessions': {
    /** List agent sessions (one per connection that has been used or suspended) */
    get: {
      path: never;
      query: {
        /**
         * Connection id or slug
         * maxLength 64
         */
        connection?: string;
        status?: 'active' | 'suspended';
      };
      body: never;
      responses: {
        /** Sessions */
        200: {
          sessions: Array<Schemas['AgentSession']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/sessions/{id}': {
    /** Get an agent session */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "ses_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** The session */
        200: Schemas['AgentSession'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/sessions/{id}/resume': {
    /** Resume a session (lifts its session kill switches; broader ones stay and are listed in heldBy) */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "ses_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Resumed */
        200: Schemas['AgentSession'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Recorded, but the connection did not confirm it yet (repeat the request to retry) */
        503: Schemas['Error'];
      };
    };
  };
  '/sessions/{id}/suspend': {
    /** Suspend a session: its calls answer 503 "Session Suspended" and its open streams end (a session kill switch) */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "ses_0123456789abcdefghij"
         */
        id: string;
      };
      query: never;
      body: Schemas['SuspendSession'] | undefined;
      responses: {
        /** Suspended */
        200: Schemas['AgentSession'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
        /** Recorded, but the connection did not confirm it yet (repeat the request to retry) */
        503: Schemas['Error'];
      };
    };
  };
  '/system-prompts': {
    /** Governed system prompts (current version) with their assignments */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Prompts */
        200: {
          systemPrompts: Array<Schemas['SystemPrompt']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Create a governed system prompt (version 1); unknown {{variables}} are refused */
    post: {
      path: never;
      query: never;
      body: Schemas['CreateSystemPrompt'];
      responses: {
        /** Created */
        201: Schemas['SystemPrompt'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/system-prompts/preview': {
    /** Render a template with chosen values (nothing is saved) */
    post: {
      path: never;
      query: never;
      body: Schemas['SystemPromptPreview'];
      responses: {
        /** The rendered text */
        200: {
          rendered: string;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/system-prompts/{id}': {
    /** One prompt with its versions and assignments */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "spr_abc"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** The prompt */
        200: Schemas['SystemPrompt'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Delete a prompt, its versions and its assignments */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "spr_abc"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Deleted */
        200: {
          deleted: true;
          id: string;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Rename, or save a new text as the next version */
    patch: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "spr_abc"
         */
        id: string;
      };
      query: never;
      body: Schemas['UpdateSystemPrompt'];
      responses: {
        /** Updated */
        200: Schemas['SystemPrompt'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/system-prompts/{id}/assignments': {
    /** Assign the prompt to an LLM connection or a team, with a priority and a mode */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "spr_abc"
         */
        id: string;
      };
      query: never;
      body: Schemas['SystemPromptAssignmentInput'];
      responses: {
        /** The prompt with its assignments */
        201: Schemas['SystemPrompt'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/system-prompts/{id}/assignments/{assignmentId}': {
    /** Remove an assignment */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "spr_abc"
         */
        id: string;
        /** minLength 1, maxLength 64 */
        assignmentId: string;
      };
      query: never;
      body: never;
      responses: {
        /** The prompt with its assignments */
        200: Schemas['SystemPrompt'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/teams': {
    /** List teams with their members */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Teams */
        200: {
          teams: Array<Schemas['Team']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Create a team (owner, admin) */
    post: {
      path: never;
      query: never;
      body: Schemas['CreateTeam'];
      responses: {
        /** Created */
        201: Schemas['Team'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/teams/{id}': {
    /** One team */
    get: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "team_abc"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** The team */
        200: Schemas['Team'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Delete a team, its members, its budgets and its prompt assignments */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "team_abc"
         */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Deleted */
        200: {
          deleted: true;
          id: string;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Rename or describe a team */
    patch: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "team_abc"
         */
        id: string;
      };
      query: never;
      body: Schemas['UpdateTeam'];
      responses: {
        /** Updated */
        200: Schemas['Team'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/teams/{id}/members': {
    /** Add a member: a user (userId), an X-Igris-User value (externalUser) or an API key (apiKeyId) */
    post: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "team_abc"
         */
        id: string;
      };
      query: never;
      body: Schemas['AddTeamMember'];
      responses: {
        /** The team with its members */
        201: Schemas['Team'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/teams/{id}/members/{memberId}': {
    /** Remove a member */
    delete: {
      path: {
        /**
         * minLength 1, maxLength 64
         * @example "team_abc"
         */
        id: string;
        /** minLength 1, maxLength 64 */
        memberId: string;
      };
      query: never;
      body: never;
      responses: {
        /** The team with its members */
        200: Schemas['Team'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/traces/{traceId}': {
    /** A trace's events, oldest first */
    get: {
      path: {
        /**
         * minLength 1, maxLength 128
         * @example "ig_trace_…"
         */
        traceId: string;
      };
      query: never;
      body: never;
      responses: {
        /** The trace */
        200: Schemas['Trace'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/tracing': {
    /** The OTLP trace export settings (header values are never returned) */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** The settings, null when not set */
        200: {
          tracing: Schemas['TracingSettings'];
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Set the OTLP/HTTP endpoint, its headers and the sampling rate */
    put: {
      path: never;
      query: never;
      body: Schemas['TracingSettingsPut'];
      responses: {
        /** The settings */
        200: Schemas['TracingSettings'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
    /** Stop exporting traces and forget the endpoint and its headers */
    delete: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Deleted */
        204: undefined;
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/xaa/issuers': {
    /** Identity providers trusted to sign ID-JAG assertions (experimental); owner/admin */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Issuers */
        200: {
          issuers: Array<Schemas['XaaIssuer']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Trust an IdP (replaces its entry if present): issuer, JWKS, algorithms (RS256, ES256), allowed clients */
    post: {
      path: never;
      query: never;
      body: {
        /** format "uri", maxLength 500 */
        issuer: string;
        /** format "uri", maxLength 500 */
        jwksUri: string;
        /**
         * maxItems 2
         * @default ["RS256"]
         */
        algorithms?: Array<'RS256' | 'ES256'>;
        /** maxItems 100 */
        clients: Array<string>;
      };
      responses: {
        /** Trusted */
        201: Schemas['XaaIssuer'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/xaa/issuers/{id}': {
    /** Stop trusting an IdP (tokens already issued run until they expire, or revoke them) */
    delete: {
      path: {
        /** minLength 1, maxLength 64 */
        id: string;
      };
      query: never;
      body: never;
      responses: {
        /** Removed */
        204: undefined;
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
  '/xaa/revocations': {
    /** Revoked assertions (jti) and subjects */
    get: {
      path: never;
      query: never;
      body: never;
      responses: {
        /** Revocations */
        200: {
          revocations: Array<Schemas['XaaRevocation']>;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
    /** Revoke one assertion (jti) or every assertion about a subject: refused at /token from now on, and tokens already issued from them stop at once (audited) */
    post: {
      path: never;
      query: never;
      body: {
        /** minLength 1, maxLength 500 */
        issuer: string;
        /** minLength 1, maxLength 256 */
        jti?: string;
        /** minLength 1, maxLength 256 */
        subject?: string;
      };
      responses: {
        /** Revoked */
        201: {
          revokedGrants: number;
        };
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
        /** Request body longer than 1048576 bytes (code payload_too_large) */
        413: Schemas['Error'];
      };
    };
  };
  '/xaa/stats': {
    /** Exchanges and refusals (by reason and issuer) over the last `days` days, from the audit trail */
    get: {
      path: never;
      query: {
        /**
         * minimum 1, maximum 90
         * @default 30
         */
        days?: number;
      };
      body: never;
      responses: {
        /** Statistics */
        200: Schemas['XaaStats'];
        /** Invalid input: details name the location and field path */
        400: Schemas['Error'];
        /** Missing, unknown or revoked credentials */
        401: Schemas['Error'];
        /** The caller lacks the permission named in the message */
        403: Schemas['Error'];
        /** Not found (also for resources of other organizations) */
        404: Schemas['Error'];
        /** Conflict */
        409: Schemas['Error'];
      };
    };
  };
}
