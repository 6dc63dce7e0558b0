/**
 * LLM APIs (OpenAI- and Anthropic-compatible) as a protocol of the call core (gateway.adapter.ts).
 * One call is one governed unit: its endpoint (`chat.completions`, `messages`, … or `passthrough`)
 * and model, decided by the same policy engine as MCP tools (rules on `model` / `endpoint`, the
 * model doubling as the governed name). Errors answer in the provider's own shape so the official
 * SDKs raise their typed errors (workers/llm/llm.errors.ts); usage and cost are read from the
 * answer (llm.stages.ts) and recorded when it has ended.
 *
 * An adapter is made per request: the route decides how the request addresses its connection —
 * `/llm/<slug>/v1/...` (SDK-native base URLs, plain model names) or `/v1/chat/completions` with
 * `"model": "@<slug>/<model>"` (the body was read by the route to find the slug).
 */
import { bearerCredential, unauthorized } from '../auth/api-key.auth';
import { looksLikeApiKey } from '../auth/api-key.crypto';
import { parseUser } from '../identity/identity.metadata';
import { errorAnswerStage } from '../inspection/inspection.error-answer';
import { inspectLlmRequest, llmAnswerStage } from '../inspection/inspection.llm.stage';
import { inspectsContent } from '../inspection/inspection.load';
import { inspectPassthroughRequest } from '../inspection/inspection.passthrough';
import { type InspectableBody, inspectableBody } from '../inspection/inspection.passthrough.read';
import { passthroughAnswerStage } from '../inspection/inspection.passthrough-answer';
import { ContentCapture } from '../langfuse/langfuse.content';
import { langfuseMayBeOn } from '../langfuse/langfuse.report';
import { echoUrlPath } from '../lib/echo.safe';
import { AppError } from '../lib/errors';
import { type BatchFile, batchFileModels, formBatchFile, jsonBodyModels } from '../llm/llm.batch-models';
import { getProvider, type LlmProvider, missingDefaultHeaders } from '../llm/llm.catalog';
import {
  classifyEndpoint,
  ENDPOINT_SPECS,
  type LlmEndpoint,
  type LlmEndpointName,
  type LlmFamily,
  parseLlmRoute,
  retrievedModelFault,
  retrievedModelId,
} from '../llm/llm.endpoints';
import { llmErrorResponse, llmStreamErrorEvent } from '../llm/llm.errors';
import { estimatePromptTokens } from '../llm/llm.estimate';
import { reencodeMultipart } from '../llm/llm.form-reencode';
import {
  combineModels,
  formModel,
  NONE,
  type PassthroughModel,
  queryModel,
} from '../llm/llm.passthrough-model';
import { cachedPriceOverrides } from '../llm/llm.prices.cache';
import { type LlmRequestInfo, multipartModel, parseLlmBody, readLlmRequest } from '../llm/llm.request';
import { ensureStreamUsage } from '../llm/llm.rewrite-request';
import { UsageMeter } from '../llm/llm.usage';
import { allowedModelsMatcher } from '../shared/llm.allowed-models';
import type { ProtocolAdapter } from './gateway.adapter';
import type { ResolvedConnection } from './gateway.connection';
import { bodyTooLarge, readBodyCapped } from './gateway.jsonrpc';
import { batchResultsStage, gatewayBase } from './llm.batch-results';
import { isMultipart, readFormBody } from './llm.form-read';
import { type InjectedPrompt, llmCostEstimate, systemPromptStage } from './llm.governance';
import { modelListStage } from './llm.model-visibility';
import { objectClaimStage, ownedListStage } from './llm.objects.stage';
import { responseAccess, responseUse, withResponseId } from './llm.response.access';
import { llmAuditRow, llmDecide, llmFinalOutcome, tokenGuardStage, usageStage } from './llm.stages';

/** One LLM call: what is decided and forwarded. `body` is rewritten by request stages (token caps). */
export interface LlmUnit {
  provider: LlmProvider;
  endpoint: LlmEndpointName;
  model: string | null;
  body: Record<string, unknown> | null;
  info: LlmRequestInfo | null;
  /** Estimated prompt tokens (llm.estimate.ts), for `tokenGuard.maxInputTokens`. */
  estimatedInputTokens: number | null;
  /** The governed system prompt injected by systemPromptStage (llm.governance.ts), for the audit row. */
  systemPrompt?: InjectedPrompt;
  /**
   * What is forwarded besides a parsed body — `METHOD /upstream/path?query`, and the bytes of a body
   * not parsed as JSON (a form as the gateway re-encoded it, another passthrough body as sent) — and
   * a multipart form's parsed entries, for an approval to bind (approval.hash.ts).
   */
  forwarded?: { target: string; raw: Uint8Array | null; form?: FormData; reencode?: true };
  /** A passthrough call's model, read only under `allowedModels` (llm.passthrough-model.ts). */
  passthroughModel?: PassthroughModel;
  /** A passthrough call's body as content inspection reads it, on an inspected connection only. */
  inspectable?: InspectableBody;
}

export interface LlmRequest {
  units: [LlmUnit];
  provider: LlmProvider;
  family: LlmFamily;
  /** Appended to the connection's base URL. */
  upstreamPath: string;
  search: string;
  /**
   * The body forwarded for endpoints whose body is not a governed JSON one: a form as the gateway
   * re-encoded it (llm.form-read.ts), another passthrough body as sent.
   */
  raw: Uint8Array | null;
  /** The Content-Type of a re-encoded form (its fresh boundary), forwarded instead of the caller's. */
  contentType: string | null;
  /** The gateway asked for stream usage the caller did not: the usage-only chunk is the gateway's. */
  injectedUsage: boolean;
  meter: UsageMeter | null;
  /** The connection's `allowedModels` (null: any model the policy allows). */
  allowed: ((model: string) => boolean) | null;
  /** The answer's content, read for Langfuse when the connection logs content (workers/langfuse/). */
  content: ContentCapture | null;
  /** `settings.sharedProviderObjects` (llm.response.access.ts). */
  sharesProviderObjects: boolean;
  /** A passthrough `POST /files` with `purpose=batch`: its file's lines (llm.batch-models.ts). */
  batchFile: BatchFile | null;
  /** The connection's `allowedModels` globs, sent with a batch create's admit (llm.batch-input.ts). */
  allowedModels: readonly string[] | null;
  /** Where this call's provider paths are at the gateway (llm.batch-results.ts); null when unknown. */
  gatewayBase: string | null;
}

/** How the request reached the gateway. */
export type LlmRoute =
  | { kind: 'native' }
  /** `body` was read and parsed by the route (it names the connection, `model` there); `bytes`: its size as sent. */
  | { kind: 'igris'; endpoint: LlmEndpoint; body: Record<string, unknown>; model: string; bytes: number };

/** Common request headers every provider understands; each provider adds its own (catalog `forwardHeaders`). */
const COMMON_HEADERS = new Set([
  'accept',
  'content-type',
  'user-agent',
  'traceparent',
  'tracestate',
  'baggage',
]);

/** The caller's `ig_` key: `Authorization: Bearer` (OpenAI SDK, Anthropic SDK 1.x) or `x-api-key`. */
/**
 * Endpoints whose request and answer content inspection reads whole (inspection.passthrough.ts,
 * inspection.passthrough-answer.ts), every text they carry: passthrough (any shape), and the
 * transcription upload, a multipart form whose `prompt` field and plain-text transcript (`text`,
 * `srt`, `vtt`) no governed reading covers.
 */
const READ_WHOLE: ReadonlySet<string> = new Set(['passthrough', 'audio.transcriptions']);

export function llmApiKey(request: Request): string | null {
  const bearer = bearerCredential(request.headers.get('Authorization'));
  if (bearer) return bearer;
  const header = request.headers.get('x-api-key')?.trim();
  if (!header) return null;
  if (!looksLikeApiKey(header))
    throw unauthorized('The x-api-key header is not an Igris API key (they start with "ig_")');
  return header;
}

/** The family a request speaks before anything is parsed (for errors raised that early). */
export function familyOfPath(pathname: string): LlmFamily {
  return /\/v1\/messages(?:\/|$)/.test(pathname) ? 'anthropic' : 'openai';
}

function providerOf(connection: ResolvedConnection): LlmProvider {
  const provider = getProvider(connection.settings.provider ?? '');
  if (!provider) {
    throw new AppError('not_found', {
      message: 'This LLM connection has no known provider: set settings.provider',
      details: { location: 'path', path: 'slug' },
    });
  }
  return provider;
}

async function readLlm(
  route: LlmRoute,
  request: Request,
  method: string,
  connection: ResolvedConnection,
  again = false,
): Promise<LlmRequest> {
  const provider = providerOf(connection);
  const url = new URL(request.url);
  const subPath =
    route.kind === 'igris'
      ? ENDPOINT_SPECS[route.endpoint].path
      : (parseLlmRoute(url.pathname)?.subPath ?? '/');
  const classified = classifyEndpoint(method, subPath);
  const endpoint = classified.endpoint;
  const family = classified.family ?? provider.family;
  if (endpoint !== 'passthrough' && !provider.endpoints.includes(endpoint)) {
    throw new AppError('not_found', {
      message: `Provider ${provider.id} does not serve ${endpoint}`,
      // The caller's path: each segment that looks like a credential hidden (lib/echo.safe.ts).
      details: { location: 'path', path: echoUrlPath(subPath) },
    });
  }
  const unit: LlmUnit = {
    provider,
    endpoint,
    model: null,
    body: null,
    info: null,
    estimatedInputTokens: null,
  };
  let raw: Uint8Array | null = null;
  if (route.kind === 'igris') {
    // Read before the connection was known: held to its limit now, as the native route holds it.
    if (route.bytes > connection.settings.maxBodyBytes) throw bodyTooLarge(connection.settings.maxBodyBytes);
    // Prepared again (gateway.replay.ts): the stages changed route.body in place; parse what was sent.
    const sent = again ? parseLlmBody(await readBodyCapped(request, route.bytes)) : null;
    unit.body = sent ? { ...sent, model: route.model } : route.body;
  } else if (method === 'POST' || (endpoint === 'passthrough' && request.body)) {
    const bytes = await readBodyCapped(request, connection.settings.maxBodyBytes);
    if (endpoint !== 'passthrough' && ENDPOINT_SPECS[endpoint].jsonBody) unit.body = parseLlmBody(bytes);
    else raw = bytes;
  }
  const search = route.kind === 'native' ? url.search : '';
  // A form is parsed once, and what is forwarded is its re-encoding (llm.form-read.ts): a
  // transcription's model field; a passthrough form's model fields and a multipart batch file's
  // lines (their models and the stored objects they name: llm.response.access.ts); and, below,
  // the texts content inspection reads — every reading is of the form the provider receives.
  const read =
    endpoint === 'audio.transcriptions' || endpoint === 'passthrough'
      ? await readFormBody(
          raw,
          request,
          endpoint === 'audio.transcriptions',
          connection.settings.maxBodyBytes,
        )
      : null;
  if (read) raw = read.bytes;
  const multipart = read?.multipart ? read.form : null;
  unit.forwarded = {
    target: `${method} ${classified.upstreamPath}${search}`,
    raw,
    ...(multipart ? { form: multipart } : {}),
  };
  if (endpoint === 'audio.transcriptions' && read) unit.model = multipartModel(read.form);
  const batchFile = endpoint === 'passthrough' && multipart ? await formBatchFile(multipart) : null;
  if (endpoint === 'passthrough' && connection.settings.allowedModels)
    unit.passthroughModel = readPassthroughModel(raw, search, read?.form ?? null, batchFile);
  // Read for content inspection (inspection.passthrough.ts) only where it runs: the same form. A
  // transcription upload is multipart too: its `prompt` field is text the provider reads.
  if (READ_WHOLE.has(endpoint) && inspectsContent(connection.settings)) {
    // A URL-encoded form (a passthrough's, or a transcription sent so) is read from its re-encoding,
    // one `field` per entry; a multipart one from its parsed parts.
    const contentType = read ? read.contentType : (request.headers.get('Content-Type') ?? '');
    const upload = multipart && raw?.byteLength && isMultipart(request) ? multipart : null;
    unit.inspectable = await inspectableBody(raw, search, contentType, upload);
  }
  // `GET /models/<id>` names its model in the path: decided like a body's (allowedModels, policy).
  if (endpoint === 'models') unit.model = retrievedModelId(classified.upstreamPath);
  let injectedUsage = false;
  if (unit.body && endpoint !== 'passthrough') {
    unit.info = readLlmRequest(endpoint, unit.body);
    unit.model = unit.info.model;
    unit.estimatedInputTokens = estimatePromptTokens(endpoint, unit.body);
    const rewrite = ensureStreamUsage(endpoint, provider, unit.body);
    unit.body = rewrite.body;
    injectedUsage = rewrite.injected;
  }
  const metered = endpoint !== 'passthrough' && ENDPOINT_SPECS[endpoint].metered;
  return {
    units: [unit],
    provider,
    family,
    upstreamPath: classified.upstreamPath,
    search,
    raw,
    contentType: read?.contentType ?? null,
    injectedUsage,
    meter: metered ? new UsageMeter(family) : null,
    allowed: allowedModelsMatcher(connection.settings.allowedModels),
    sharesProviderObjects: connection.settings.sharedProviderObjects === true,
    batchFile,
    allowedModels: connection.settings.allowedModels ?? null,
    gatewayBase: route.kind === 'native' ? gatewayBase(url, subPath) : null,
    content:
      connection.settings.logContent === true &&
      endpoint !== 'passthrough' &&
      langfuseMayBeOn(connection.orgId)
        ? new ContentCapture()
        : null,
  };
}

/**
 * The model a passthrough call names in its query or body, read as a provider would read it: a
 * form's (multipart or URL-encoded) from the entries forwarded, any other body as JSON if it is.
 */
function readPassthroughModel(
  raw: Uint8Array | null,
  search: string,
  form: FormData | null,
  batchFile: BatchFile | null,
): PassthroughModel {
  const fromQuery = queryModel(search);
  if (!raw?.byteLength) return fromQuery;
  const fromBody = form
    ? combineModels(formModel(form), batchFile ? batchFileModels(batchFile) : NONE)
    : jsonBodyModels(raw);
  return combineModels(fromQuery, fromBody);
}

export function llmAdapter(route: LlmRoute, familyHint: LlmFamily): ProtocolAdapter<LlmUnit, LlmRequest> {
  const familyOf = (parsed: LlmRequest | null) => parsed?.family ?? familyHint;
  return {
    connectionType: 'llm',
    protocol: 'llm',
    readApiKey: llmApiKey,
    read: (request, method, connection, again) => readLlm(route, request, method, connection, again),
    // The model id of `GET /models/<id>`, judged as a body's model is; here rather than in `read`
    // so that it is refused in the provider's shape (the path alone says OpenAI).
    check: (_request, parsed) =>
      parsed.units[0].endpoint === 'models'
        ? retrievedModelFault(parsed.upstreamPath)
        : responseUse(parsed).fault,
    userOf: (parsed) => parseUser(parsed.units[0].info?.user ?? null).user,
    decide: (parsed, identity, policy) => [llmDecide(parsed.units[0], identity, policy, parsed.allowed)],
    // Content inspection first: it judges (and redacts) what the caller sent — a governed
    // endpoint's prompt, or every text of a passthrough call — before the governed system prompt
    // is added.
    requestStages: [inspectLlmRequest, inspectPassthroughRequest, systemPromptStage, tokenGuardStage],
    settle: (decisions) => decisions,
    // A stored object the call names is its caller's, or refused; a list asks for the caller's
    // own (llm.response.access.ts).
    taskAccess: responseAccess,
    forwardBody: async (parsed) => {
      const unit = parsed.units[0];
      if (unit.body) return JSON.stringify(unit.body);
      // A multipart form whose text fields inspection masked (inspection.passthrough.ts): the
      // masked entries re-encoded, under the runtime's new boundary, which `upstream` then names.
      if (unit.forwarded?.reencode && unit.forwarded.form) {
        const masked = await reencodeMultipart(unit.forwarded.form, Number.MAX_SAFE_INTEGER);
        parsed.contentType = masked.contentType;
        return masked.bytes;
      }
      // `forwarded.raw`: a passthrough body inspection rewrote (inspection.passthrough.ts).
      // A form: the gateway's re-encoding of it (llm.form-read.ts), typed by `upstream` below.
      return unit.forwarded?.raw ?? parsed.raw;
    },
    upstream: (connection, parsed, request) => {
      const provider = parsed?.provider ?? providerOf(connection);
      const own = new Set(provider.forwardHeaders.map((h) => h.toLowerCase()));
      return {
        url: `${connection.upstreamUrl.replace(/\/+$/, '')}${parsed?.upstreamPath ?? ''}${parsed?.search ?? ''}`,
        forwardsHeader: (name) => COMMON_HEADERS.has(name) || own.has(name),
        // A re-encoded form's own Content-Type (its boundary) replaces the caller's.
        headers: {
          ...missingDefaultHeaders(provider, request.headers),
          ...(parsed?.contentType ? { 'content-type': parsed.contentType } : {}),
        },
      };
    },
    auditRows: (base, decisions) => decisions.map((d) => llmAuditRow(base, d)),
    refusalFields: (parsed) => {
      const unit = parsed?.units[0];
      return unit ? { type: 'llm_call', method: unit.endpoint, tool: unit.model, model: unit.model } : {};
    },
    needsPolicy: () => false,
    // Usage first (it may drop the gateway's usage-only chunk), then the Langfuse capture, then
    // placeholders restored and the completion scanned.
    responseStages: (call, parsed) =>
      [
        parsed?.meter ? usageStage(parsed.meter, parsed.injectedUsage) : null,
        // The provider's model list, without the models this connection hides.
        parsed?.units[0].endpoint === 'models' && parsed.upstreamPath === '/models'
          ? modelListStage(parsed.allowed, call.policy)
          : null,
        // Stored objects: a list cut to the caller's own, and the ids an answer creates claimed.
        ownedListStage(call, parsed),
        objectClaimStage(call, parsed),
        // A Message Batch's results, fetched by the SDK from the URL the answer names: the gateway's.
        parsed?.units[0].endpoint === 'passthrough' ? batchResultsStage(parsed.gatewayBase) : null,
        // Before the placeholders are restored: Langfuse gets the answer as the provider sent it,
        // as it gets the prompt as forwarded (promptOf) — a redacted value goes back to its caller
        // only, never to a third party (docs/detections.md).
        parsed?.content ? parsed.content.stage() : null,
        parsed ? llmAnswerStage(call) : null,
        // A passthrough answer's every string, and its JSONL or text body (docs/detections.md); a
        // transcript's too (`{text}`, or text/srt/vtt that no known answer shape reads).
        parsed && READ_WHOLE.has(parsed.units[0].endpoint) ? passthroughAnswerStage(call) : null,
        // The provider's error answer (4xx/5xx), governed path or passthrough: every string of it
        // scanned as a completion (inspection.error-answer.ts).
        errorAnswerStage(call, 'completion'),
      ].filter((stage) => stage !== null),
    completeAtEnd: true,
    finalOutcome: (call, parsed, env, end) => llmFinalOutcome(call, parsed, env, end),
    estimateCostUsd: (call, parsed, env) =>
      llmCostEstimate(parsed, () => cachedPriceOverrides(env, call.orgId).catch(() => undefined)),
    endedStreamText: (parsed, _traceId, err) => llmStreamErrorEvent(familyOf(parsed), err),
    streamBounds: (settings) => ({
      idleMs: settings.streamIdleTimeoutMs,
      heldMs: settings.heldStreamTimeoutMs,
    }),
    replyId: () => null,
    respondError: (ctx, err, parsed) => llmErrorResponse(familyOf(parsed), withResponseId(err, parsed), ctx),
    respondRefused: (ctx, err, _decisions, parsed) => llmErrorResponse(familyOf(parsed), err, ctx),
  };
}
