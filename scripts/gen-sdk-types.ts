/**
 * Generates sdk/src/api.types.ts — the SDK's management API types — from the API's own OpenAPI
 * document (GET /api/v1/openapi.json), so the SDK never re-declares a shape the API defines.
 *
 *   npm run sdk:types                      start a throwaway local stack, fetch, write
 *   npm run sdk:types -- --url http://…    use a running gateway instead
 *   npm run sdk:types -- --check           exit 1 if the committed file is out of date
 *
 * The converter covers the JSON Schema 2020-12 subset that @hono/zod-openapi emits ($ref, type
 * and type arrays, enum, const, properties/required, additionalProperties, items, anyOf, oneOf,
 * allOf, nullable); anything else becomes `unknown` rather than a guess. Output is sorted by
 * path and schema name, so route mounting order does not churn the file. test/e2e/sdk.e2e.test.ts
 * regenerates from the live document and fails when the committed file differs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const GENERATED_FILE = path.resolve(import.meta.dirname, '..', 'sdk', 'src', 'api.types.ts');

type JsonSchema = { [key: string]: unknown };

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: JsonSchema;
}

interface Operation {
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: JsonSchema }> }>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const REF_PREFIX = '#/components/schemas/';

// ---------------------------------------------------------------------------------------------
// Schema → TypeScript
// ---------------------------------------------------------------------------------------------

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function key(name: string): string {
  return IDENTIFIER.test(name) ? name : quote(name);
}

function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

function literal(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return 'unknown';
}

/** ': T', without the space when T starts on its own line (a multi-line union). */
function colon(type: string): string {
  return type.startsWith('\n') ? `:${type}` : `: ${type}`;
}

function union(members: string[], pad: string): string {
  const unique = [...new Set(members)];
  if (unique.length === 0) return 'never';
  if (unique.includes('unknown')) return 'unknown';
  const single = unique.join(' | ');
  if (single.length <= 80 || unique.some((m) => m.includes('\n'))) return single;
  return unique.map((m) => `\n${pad}  | ${m}`).join('');
}

/** A JSDoc block from a schema's description and the constraints a caller would want to see. */
function docComment(schema: JsonSchema | undefined, pad: string, extra: string[] = []): string {
  const lines: string[] = [...extra];
  if (schema) {
    if (typeof schema.description === 'string') lines.push(...schema.description.split('\n'));
    const facts: string[] = [];
    for (const name of ['format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'maxItems']) {
      if (schema[name] !== undefined) facts.push(`${name} ${JSON.stringify(schema[name])}`);
    }
    if (facts.length > 0) lines.push(facts.join(', '));
    if (schema.default !== undefined) lines.push(`@default ${JSON.stringify(schema.default)}`);
    if (schema.example !== undefined) lines.push(`@example ${JSON.stringify(schema.example)}`);
  }
  if (lines.length === 0) return '';
  const safe = lines.map((l) => l.replace(/\*\//g, '*\\/'));
  if (safe.length === 1) return `${pad}/** ${safe[0]} */\n`;
  return `${pad}/**\n${safe.map((l) => `${pad} * ${l}`).join('\n')}\n${pad} */\n`;
}

function refName(ref: string): string {
  if (!ref.startsWith(REF_PREFIX)) return 'unknown';
  return `Schemas[${quote(decodeURIComponent(ref.slice(REF_PREFIX.length)))}]`;
}

/** The TypeScript type of `schema`, written at indentation `pad` (for multi-line objects). */
export function schemaType(schema: unknown, pad = ''): string {
  if (schema === true || schema === undefined) return 'unknown';
  if (schema === false) return 'never';
  if (!isSchema(schema)) return 'unknown';
  const base = baseType(schema, pad);
  return schema.nullable === true && base !== 'unknown' ? union([base, 'null'], pad) : base;
}

function baseType(schema: JsonSchema, pad: string): string {
  if (typeof schema.$ref === 'string') return refName(schema.$ref);
  if ('const' in schema) return literal(schema.const);
  if (Array.isArray(schema.enum)) return union(schema.enum.map(literal), pad);
  for (const combinator of ['anyOf', 'oneOf'] as const) {
    const members = schema[combinator];
    if (Array.isArray(members))
      return union(
        members.map((m) => wrap(schemaType(m, pad))),
        pad,
      );
  }
  if (Array.isArray(schema.allOf)) {
    const parts = [...new Set(schema.allOf.map((m) => wrap(schemaType(m, pad))))].filter(
      (t) => t !== 'unknown',
    );
    return parts.length === 0 ? 'unknown' : parts.join(' & ');
  }
  const types = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
  if (types.length === 0) return schema.properties !== undefined ? objectType(schema, pad) : 'unknown';
  return union(
    types.map((t) => typeOf(String(t), schema, pad)),
    pad,
  );
}

/** Parenthesises unions inside arrays and intersections. */
function wrap(type: string): string {
  return type.includes(' | ') || type.includes('\n') ? `(${type.trim()})` : type;
}

function typeOf(type: string, schema: JsonSchema, pad: string): string {
  switch (type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return Array.isArray(schema.prefixItems)
        ? `[${schema.prefixItems.map((s) => schemaType(s, pad)).join(', ')}]`
        : `Array<${schemaType(schema.items, pad)}>`;
    case 'object':
      return objectType(schema, pad);
    default:
      return 'unknown';
  }
}

function objectType(schema: JsonSchema, pad: string): string {
  const properties = isSchema(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  const inner = `${pad}  `;
  let body = '';
  for (const [name, property] of Object.entries(properties)) {
    const optional = required.has(name) ? '' : '?';
    body += docComment(isSchema(property) ? property : undefined, inner);
    body += `${inner}${key(name)}${optional}${colon(schemaType(property, inner))};\n`;
  }
  const extra = schema.additionalProperties;
  if (isSchema(extra) || extra === true) {
    body += `${inner}[key: string]: ${extra === true ? 'unknown' : schemaType(extra, inner)};\n`;
  } else if (extra === undefined && Object.keys(properties).length === 0) {
    // A free-form object: anything JSON.
    return 'Record<string, unknown>';
  }
  return body === '' ? 'Record<string, never>' : `{\n${body}${pad}}`;
}

// ---------------------------------------------------------------------------------------------
// Document → module
// ---------------------------------------------------------------------------------------------

function jsonSchemaOf(content: Record<string, { schema?: JsonSchema }> | undefined): JsonSchema | undefined {
  if (!content) return undefined;
  const json = Object.entries(content).find(([type]) => type.includes('json'));
  return (json ?? Object.entries(content)[0])?.[1].schema;
}

function parametersType(parameters: Parameter[], where: string, pad: string): string {
  const selected = parameters.filter((p) => p.in === where);
  if (selected.length === 0) return 'never';
  const inner = `${pad}  `;
  let body = '';
  for (const p of selected) {
    // zod-openapi repeats a parameter's description in its schema: say it once.
    const own = p.description && p.description !== p.schema?.description ? [p.description] : [];
    body += docComment(p.schema, inner, own);
    body += `${inner}${key(p.name)}${p.required || where === 'path' ? '' : '?'}${colon(schemaType(p.schema, inner))};\n`;
  }
  return `{\n${body}${pad}}`;
}

function operationType(op: Operation, shared: Parameter[], pad: string): string {
  const inner = `${pad}  `;
  const own = op.parameters ?? [];
  // Operation-level parameters override path-level ones with the same name and location.
  const params = [...shared.filter((s) => !own.some((o) => o.name === s.name && o.in === s.in)), ...own];
  let out = '{\n';
  out += `${inner}path: ${parametersType(params, 'path', inner)};\n`;
  out += `${inner}query: ${parametersType(params, 'query', inner)};\n`;
  const bodySchema = jsonSchemaOf(op.requestBody?.content);
  const body = op.requestBody ? schemaType(bodySchema, inner) : 'never';
  out += `${inner}body: ${body === 'never' || op.requestBody?.required ? body : `${body} | undefined`};\n`;
  out += `${inner}responses: {\n`;
  for (const [status, response] of Object.entries(op.responses ?? {}).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const statusKey = /^\d+$/.test(status) ? status : quote(status);
    out += docComment(undefined, `${inner}  `, response.description ? [response.description] : []);
    const schema = jsonSchemaOf(response.content);
    out += `${inner}  ${statusKey}${colon(response.content ? schemaType(schema, `${inner}  `) : 'undefined')};\n`;
  }
  out += `${inner}};\n${pad}}`;
  return out;
}

export function generateApiTypes(doc: OpenApiDocument): string {
  let out = '';
  out += '// biome-ignore-all format: generated file\n';
  out += '// biome-ignore-all lint: generated file\n';
  out += '/**\n';
  out += ` * ${doc.info.title} ${doc.info.version} — types generated from GET /api/v1/openapi.json\n`;
  out += ` * (OpenAPI ${doc.openapi}) by scripts/gen-sdk-types.ts. Do not edit: run \`npm run sdk:types\`.\n`;
  out += ' */\n\n';

  out += '/** Every component schema of the management API, by name. */\n';
  out += 'export interface Schemas {\n';
  const schemas = doc.components?.schemas ?? {};
  for (const name of Object.keys(schemas).sort()) {
    out += docComment(schemas[name], '  ');
    out += `  ${key(name)}${colon(schemaType(schemas[name], '  '))};\n`;
  }
  out += '}\n\n';

  out += '/**\n';
  out += ' * Every operation, by path (relative to /api/v1) and method: its path and query parameters,\n';
  out += ' * its JSON body (`never` when it takes none) and its responses by status.\n';
  out += ' */\n';
  out += 'export interface Paths {\n';
  const paths = doc.paths ?? {};
  for (const p of Object.keys(paths).sort()) {
    const item = paths[p] ?? {};
    const shared = Array.isArray(item.parameters) ? (item.parameters as Parameter[]) : [];
    out += `  ${quote(p)}: {\n`;
    for (const method of METHODS) {
      const op = item[method] as Operation | undefined;
      if (!op) continue;
      const summary = [op.summary, op.description].filter(
        (s): s is string => typeof s === 'string' && s !== '',
      );
      out += docComment(undefined, '    ', summary);
      out += `    ${method}: ${operationType(op, shared, '    ')};\n`;
    }
    out += '  };\n';
  }
  out += '}\n';
  return out;
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

async function fetchDocument(gatewayUrl: string): Promise<OpenApiDocument> {
  const res = await fetch(`${gatewayUrl.replace(/\/+$/, '')}/api/v1/openapi.json`);
  if (!res.ok) throw new Error(`GET /api/v1/openapi.json: ${res.status} ${await res.text()}`);
  return (await res.json()) as OpenApiDocument;
}

/** The document as a freshly started local stack serves it (free port, throwaway state). */
async function documentFromLocalStack(): Promise<OpenApiDocument> {
  const { freePort, newApiKey, newEncryptionKey, startStack } = await import('./local-stack.ts');
  const persistTo = mkdtempSync(path.join(os.tmpdir(), 'igris-sdk-types-'));
  const stack = await startStack({
    port: await freePort(),
    persistTo,
    adminApiKey: newApiKey(),
    encryptionKey: newEncryptionKey(),
    demoUpstream: false,
  });
  try {
    return await fetchDocument(stack.gatewayUrl);
  } finally {
    await stack.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

async function main(args: string[]): Promise<number> {
  const urlIndex = args.indexOf('--url');
  const url = urlIndex >= 0 ? args[urlIndex + 1] : undefined;
  const doc = url ? await fetchDocument(url) : await documentFromLocalStack();
  const generated = generateApiTypes(doc);
  if (args.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(GENERATED_FILE, 'utf8');
    } catch {
      // missing counts as out of date
    }
    if (current === generated) return 0;
    console.error(`${path.relative(process.cwd(), GENERATED_FILE)} is out of date: run npm run sdk:types`);
    return 1;
  }
  writeFileSync(GENERATED_FILE, generated);
  console.log(
    `wrote ${path.relative(process.cwd(), GENERATED_FILE)} (${Object.keys(doc.paths ?? {}).length} paths)`,
  );
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
