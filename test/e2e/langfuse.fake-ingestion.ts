/**
 * A local fake of Langfuse's public ingestion API (plain node:http) for langfuse.e2e.test.ts: it
 * requires a project's Basic auth and validates every batch against the API's shape.
 */
import { createServer, type Server } from 'node:http';
import { z } from 'zod';
import { listen } from '../shared/local.server.ts';

/** The ingestion API's batch, as Langfuse validates it (trace-create and generation-create here). */
const isoTime = z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'ISO 8601 time');
const eventBase = { id: z.string().uuid(), timestamp: isoTime, metadata: z.unknown().optional() };
const ingestionSchema = z.strictObject({
  batch: z
    .array(
      z.discriminatedUnion('type', [
        z.strictObject({
          ...eventBase,
          type: z.literal('trace-create'),
          body: z.strictObject({
            id: z.string().min(1),
            timestamp: isoTime.optional(),
            name: z.string().optional(),
            userId: z.string().optional(),
            metadata: z.record(z.string(), z.unknown()).optional(),
            tags: z.array(z.string()).optional(),
          }),
        }),
        z.strictObject({
          ...eventBase,
          type: z.literal('generation-create'),
          body: z.strictObject({
            id: z.string().min(1),
            traceId: z.string().min(1),
            name: z.string(),
            startTime: isoTime,
            endTime: isoTime,
            completionStartTime: isoTime.optional(),
            model: z.string().optional(),
            usageDetails: z.record(z.string(), z.number().int().nonnegative()).optional(),
            costDetails: z.record(z.string(), z.number().nonnegative()).optional(),
            level: z.enum(['DEBUG', 'DEFAULT', 'WARNING', 'ERROR']),
            statusMessage: z.string().optional(),
            metadata: z.record(z.string(), z.unknown()),
            input: z.unknown().optional(),
            output: z.unknown().optional(),
          }),
        }),
      ]),
    )
    .min(1),
  metadata: z.unknown().optional(),
});
export type Ingestion = z.infer<typeof ingestionSchema>;
export type Generation = Extract<Ingestion['batch'][number], { type: 'generation-create' }>['body'];
export type Trace = Extract<Ingestion['batch'][number], { type: 'trace-create' }>['body'];

export interface Project {
  publicKey: string;
  secretKey: string;
  batches: Ingestion[];
}

/** The fake: 401 without a project's Basic auth, 400 for a batch of the wrong shape, else 207. */
export async function startFakeLangfuse(
  projects: Record<string, Project>,
  refused: string[],
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/public/ingestion') {
        res.writeHead(404).end();
        return;
      }
      const project = Object.values(projects).find(
        (p) =>
          req.headers.authorization ===
          `Basic ${Buffer.from(`${p.publicKey}:${p.secretKey}`).toString('base64')}`,
      );
      if (!project) {
        refused.push('401');
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"message":"Invalid credentials"}');
        return;
      }
      const parsed = ingestionSchema.safeParse(JSON.parse(raw));
      if (!parsed.success) {
        refused.push(JSON.stringify(parsed.error.issues).slice(0, 500));
        res.writeHead(400).end();
        return;
      }
      project.batches.push(parsed.data);
      res.writeHead(207, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          successes: parsed.data.batch.map((e) => ({ id: e.id, status: 201 })),
          errors: [],
        }),
      );
    });
  });
  const { url } = await listen(server);
  return { server, url };
}

export const generationsOf = (p: Project): Generation[] =>
  p.batches.flatMap((b) => b.batch.flatMap((e) => (e.type === 'generation-create' ? [e.body] : [])));
export const tracesOf = (p: Project): Trace[] =>
  p.batches.flatMap((b) => b.batch.flatMap((e) => (e.type === 'trace-create' ? [e.body] : [])));
