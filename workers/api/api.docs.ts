/**
 * `GET /api/v1/docs` — a browsable API reference rendered on the server from the same OpenAPI
 * document as `/api/v1/openapi.json`. Self-contained: no scripts, no CDN, no external fonts or
 * styles, so it works offline and under a strict Content-Security-Policy.
 *
 * Everything taken from the document is HTML-escaped; the only markup added to document text is
 * a link for `$ref`s to component schemas, whose names are restricted to a safe character set.
 */
import { isRecord } from '../lib/values';

/** The parts of an OpenAPI 3.1 document this page reads (the generator's type is wider). */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers?: Array<{ url: string }>;
  paths?: Record<string, unknown>;
  components?: { schemas?: Record<string, unknown> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

interface Operation {
  method: string;
  path: string;
  anchor: string;
  summary: string;
  description: string;
  parameters: Array<Record<string, unknown>>;
  requestBody: Record<string, unknown> | null;
  responses: Array<[string, Record<string, unknown>]>;
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function anchorOf(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
}

const REF_PATTERN = /&quot;#\/components\/schemas\/([A-Za-z0-9_.-]+)&quot;/g;

/** Pretty JSON, escaped, with component `$ref`s turned into in-page links. */
function jsonBlock(value: unknown): string {
  const escaped = escapeHtml(JSON.stringify(value, null, 2) ?? 'null');
  const linked = escaped.replace(
    REF_PATTERN,
    (_m, name: string) => `&quot;<a href="#schema-${anchorOf(name)}">#/components/schemas/${name}</a>&quot;`,
  );
  return `<pre class="json">${linked}</pre>`;
}

function collectOperations(doc: OpenApiDocument): Map<string, Operation[]> {
  const byTag = new Map<string, Operation[]>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (!isRecord(item)) continue;
    const shared = Array.isArray(item.parameters) ? item.parameters.filter(isRecord) : [];
    for (const method of METHODS) {
      const op = item[method];
      if (!isRecord(op)) continue;
      const own = Array.isArray(op.parameters) ? op.parameters.filter(isRecord) : [];
      const operation: Operation = {
        method,
        path,
        anchor: `op-${method}-${anchorOf(path)}`,
        summary: str(op.summary),
        description: str(op.description),
        parameters: [...shared, ...own],
        requestBody: isRecord(op.requestBody) ? op.requestBody : null,
        responses: isRecord(op.responses)
          ? Object.entries(op.responses).filter((e): e is [string, Record<string, unknown>] => isRecord(e[1]))
          : [],
      };
      const tags = Array.isArray(op.tags) && op.tags.length > 0 ? op.tags.map(String) : ['Other'];
      for (const tag of tags) {
        const list = byTag.get(tag) ?? [];
        list.push(operation);
        byTag.set(tag, list);
      }
    }
  }
  return new Map([...byTag.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

type Schemas = Record<string, unknown>;

/** The component name a schema is a bare `$ref` to, if it is one. */
function refName(schema: unknown): string | null {
  if (!isRecord(schema) || typeof schema.$ref !== 'string') return null;
  const match = /^#\/components\/schemas\/([A-Za-z0-9_.-]+)$/.exec(schema.$ref);
  return match?.[1] ?? null;
}

/**
 * A body's schema. With `expand`, a top-level `$ref` is shown resolved (one level: nested refs stay
 * links), so the reader sees the fields without leaving the operation.
 */
function renderSchema(schema: unknown, schemas: Schemas, expand: boolean): string {
  const name = refName(schema);
  if (name === null) return jsonBlock(schema);
  const link = `<a href="#schema-${anchorOf(name)}">${escapeHtml(name)}</a>`;
  if (!expand || schemas[name] === undefined) return `<div class="ref">schema ${link}</div>`;
  return `<div class="ref">schema ${link}</div>${jsonBlock(schemas[name])}`;
}

function renderContent(content: unknown, schemas: Schemas, expand: boolean): string {
  if (!isRecord(content)) return '';
  return Object.entries(content)
    .map(([mediaType, media]) => {
      const schema = isRecord(media) ? media.schema : undefined;
      return `<div class="media"><span class="media-type">${escapeHtml(mediaType)}</span>${
        schema === undefined ? '' : renderSchema(schema, schemas, expand)
      }</div>`;
    })
    .join('');
}

function renderParameters(parameters: Array<Record<string, unknown>>): string {
  if (parameters.length === 0) return '';
  const rows = parameters
    .map((p) => {
      const schema = isRecord(p.schema) ? p.schema : {};
      const type = str(schema.type) || (schema.$ref ? 'object' : '');
      return `<tr><td><code>${escapeHtml(str(p.name))}</code></td><td>${escapeHtml(str(p.in))}</td><td>${escapeHtml(
        type,
      )}</td><td>${p.required === true ? 'yes' : 'no'}</td><td>${escapeHtml(str(p.description))}</td></tr>`;
    })
    .join('');
  return `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>type</th><th>required</th><th>description</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function renderOperation(op: Operation, basePath: string, schemas: Schemas): string {
  const body = op.requestBody
    ? `<h4>Request body${op.requestBody.required === true ? ' (required)' : ''}</h4>${renderContent(
        op.requestBody.content,
        schemas,
        true,
      )}`
    : '';
  const responses = op.responses
    .map(
      ([status, response]) =>
        `<details${status.startsWith('2') ? ' open' : ''}><summary><span class="status s${escapeHtml(
          status.charAt(0),
        )}">${escapeHtml(status)}</span> ${escapeHtml(str(response.description))}</summary>${renderContent(
          response.content,
          schemas,
          status.startsWith('2'),
        )}</details>`,
    )
    .join('');
  return `<section class="op" id="${op.anchor}">
<h3><span class="method ${op.method}">${op.method.toUpperCase()}</span> <code>${escapeHtml(
    basePath + op.path,
  )}</code></h3>
${op.summary ? `<p class="summary">${escapeHtml(op.summary)}</p>` : ''}
${op.description ? `<p>${escapeHtml(op.description)}</p>` : ''}
${renderParameters(op.parameters)}${body}
<h4>Responses</h4>${responses}
</section>`;
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5b6475; --bg: #fff; --panel: #f5f7fa; --line: #dde2ea; }
@media (prefers-color-scheme: dark) { :root { --fg: #e4e8f0; --muted: #9aa4b6; --bg: #12151c; --panel: #1b2029; --line: #2c3340; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, Segoe UI, Roboto, sans-serif; color: var(--fg); background: var(--bg); display: flex; }
nav { width: 300px; flex: none; height: 100vh; position: sticky; top: 0; overflow-y: auto; padding: 1rem; border-right: 1px solid var(--line); background: var(--panel); font-size: 13px; }
nav h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 1rem 0 .25rem; }
nav a { display: block; color: inherit; text-decoration: none; padding: 2px 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
nav a:hover { text-decoration: underline; }
main { flex: 1; min-width: 0; padding: 1.5rem 2rem 4rem; max-width: 1100px; }
h1 { margin-top: 0; }
h2.tag { border-bottom: 1px solid var(--line); padding-bottom: .25rem; margin-top: 2.5rem; }
.op { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: 1rem 0; }
.op h3 { margin: 0; font-size: 16px; }
.summary { color: var(--muted); margin: .25rem 0 .5rem; }
h4 { margin: .75rem 0 .25rem; font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.method { display: inline-block; min-width: 4.2em; text-align: center; border-radius: 4px; padding: 0 .4em; font-size: 12px; font-weight: 700; color: #fff; vertical-align: middle; }
.get { background: #2f7ed8; } .post { background: #2e9e5b; } .put { background: #c7861b; } .patch { background: #8a5cc7; } .delete { background: #c94545; } .head, .options { background: #667; }
.status { font-weight: 700; font-family: ui-monospace, monospace; }
.s2 { color: #2e9e5b; } .s4 { color: #c7861b; } .s5 { color: #c94545; }
pre.json { background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: .5rem .75rem; overflow-x: auto; font-size: 12.5px; margin: .25rem 0 .5rem; }
.ref { font-size: 12px; color: var(--muted); }
.media-type { font-family: ui-monospace, monospace; font-size: 12px; color: var(--muted); }
details { margin: .25rem 0; } summary { cursor: pointer; }
table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid var(--line); padding: 2px 8px; text-align: left; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
a { color: #2f7ed8; }
`;

/** The whole page as one HTML string. */
export function renderApiDocs(doc: OpenApiDocument, specUrl = 'openapi.json'): string {
  const basePath = (doc.servers?.[0]?.url ?? '').replace(/\/+$/, '');
  const groups = collectOperations(doc);
  const components: Schemas = doc.components?.schemas ?? {};
  const schemas = Object.entries(components).sort(([a], [b]) => a.localeCompare(b));

  const nav = [...groups.entries()]
    .map(
      ([tag, ops]) =>
        `<h2>${escapeHtml(tag)}</h2>${ops
          .map(
            (op) =>
              `<a href="#${op.anchor}"><span class="method ${op.method}">${op.method.toUpperCase()}</span> ${escapeHtml(
                op.path,
              )}</a>`,
          )
          .join('')}`,
    )
    .join('');
  const schemaNav = schemas.length
    ? `<h2>Schemas</h2>${schemas
        .map(([name]) => `<a href="#schema-${anchorOf(name)}">${escapeHtml(name)}</a>`)
        .join('')}`
    : '';

  const sections = [...groups.entries()]
    .map(
      ([tag, ops]) =>
        `<h2 class="tag" id="tag-${anchorOf(tag)}">${escapeHtml(tag)}</h2>${ops
          .map((op) => renderOperation(op, basePath, components))
          .join('')}`,
    )
    .join('');
  const schemaSections = schemas.length
    ? `<h2 class="tag" id="schemas">Schemas</h2>${schemas
        .map(
          ([name, schema]) =>
            `<section class="op" id="schema-${anchorOf(name)}"><h3><code>${escapeHtml(name)}</code></h3>${jsonBlock(
              schema,
            )}</section>`,
        )
        .join('')}`
    : '';

  const title = `${doc.info.title} ${doc.info.version}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<nav><strong>${escapeHtml(doc.info.title)}</strong>${nav}${schemaNav}</nav>
<main>
<h1>${escapeHtml(doc.info.title)} <small>${escapeHtml(doc.info.version)}</small></h1>
${doc.info.description ? `<p>${escapeHtml(doc.info.description)}</p>` : ''}
<p>Base path <code>${escapeHtml(basePath || '/')}</code>. Every operation needs
<code>Authorization: Bearer ig_…</code> (an API key of your organization) and acts only on that organization's
resources. Errors always have the shape <code>{"error": {"code", "message", "details?"}}</code>.
Machine-readable document: <a href="${escapeHtml(specUrl)}">${escapeHtml(specUrl)}</a> (OpenAPI ${escapeHtml(
    doc.openapi,
  )}).</p>
${sections}
${schemaSections}
</main>
</body>
</html>`;
}

/** The docs page as a response: HTML with a CSP that forbids scripts and every external load. */
export function apiDocsResponse(doc: OpenApiDocument): Response {
  return new Response(renderApiDocs(doc), {
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy':
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    },
  });
}
