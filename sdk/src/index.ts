/**
 * @igris-edge/sdk — the client for Igris Edge, the self-hosted security gateway for AI agents.
 * See docs/sdk.md.
 */
export type { Paths, Schemas } from './api.types.js';
export type {
  ApiArgs,
  ApiBody,
  ApiQuery,
  ApiResult,
  HttpMethod,
  PathsWith,
  QueryParams,
  QueryValue,
} from './igris.api.js';
export {
  AuditApi,
  ConnectionsApi,
  Igris,
  type IgrisOptions,
  LlmProvidersApi,
  type McpConfigOptions,
  PoliciesApi,
  SessionsApi,
} from './igris.client.js';
export {
  type ClaudeDesktopConfig,
  type ClientConfigs,
  type ClientTarget,
  type CursorConfig,
  claudeCodeCommand,
  claudeDesktopConfig,
  clientConfigs,
  cursorConfig,
  headerEnvName,
  inspectorCommand,
  shellQuote,
  type VsCodeConfig,
  vscodeConfig,
} from './igris.clients.js';
export { API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL } from './igris.config.js';
export {
  type ApiErrorCode,
  type IdentityRule,
  IgrisApiError,
  IgrisConfigError,
  IgrisError,
  IgrisIdentityError,
  IgrisMetadataError,
  type MetadataRule,
} from './igris.errors.js';
export {
  checkTraceId,
  checkUser,
  encodeMetadata,
  type Metadata,
  type MetadataValue,
  newTraceId,
} from './igris.identity.js';
export {
  METADATA_HEADER,
  METADATA_MAX_BYTES,
  METADATA_MAX_DEPTH,
  SLUG_PATTERN,
  TRACE_HEADER,
  TRACE_ID_MAX_LENGTH,
  TRACE_ID_PATTERN,
  TRACE_ID_PREFIX,
  USER_HEADER,
  USER_MAX_LENGTH,
} from './igris.limits.js';
export {
  type CallOptions,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatCompletionParams,
  ChatCompletionsApi,
  type EmbeddingParams,
  type EmbeddingResponse,
  EmbeddingsApi,
  type IdentityOptions,
  IgrisLlmError,
  type LlmConfig,
  type LlmConfigOptions,
} from './igris.llm.js';
export {
  gatewayHeaders,
  type McpConfig,
  mcpTransport,
  type TransportClass,
  type TransportOptionsLike,
} from './igris.transport.js';

import type { Schemas } from './api.types.js';

/** Convenience names for the API's most used shapes (aliases of the generated Schemas). */
export type Connection = Schemas['Connection'];
export type CreateConnection = Schemas['CreateConnection'];
export type UpdateConnection = Schemas['UpdateConnection'];
export type PolicyVersion = Schemas['PolicyVersion'];
export type Simulation = Schemas['Simulation'];
export type SimulationRequest = Schemas['SimulationRequest'];
export type ApiErrorBody = Schemas['Error'];
