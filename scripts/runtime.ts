/**
 * The local runtime (`npm start`, the end-to-end tests and the benchmarks): the Worker bundled
 * exactly as `wrangler deploy` bundles it, run by workerd through Miniflare with wrangler.toml's
 * bindings, local D1, KV, Durable Objects and queues persisted under `--persist-to`. Its port is
 * workerd's own socket.
 *
 * Why not `wrangler dev`: it is a development loop, and each of its conveniences sits on the hot
 * path of every call — none exists on Cloudflare:
 *   - a proxy runtime in front of the Worker (a second workerd, a Durable Object queueing every
 *     request so a reload can hold it): ≈ 3–4 ms and ≈ 2.5 ms of workerd CPU per call, and under
 *     load a kill switch's API answer queued behind calls (BENCHMARKS.md, B − R);
 *   - middleware bundled into the Worker (request-body draining, JSON error pages, `/__scheduled`);
 *   - a devtools inspector it always opens, whose async-trace sink costs every promise;
 *   - a wrapper around every Durable Object class for its local explorer;
 *   - a file watcher that rebuilds and reloads the Worker when a source file changes.
 * Here the bundle is `wrangler deploy --dry-run`'s output — byte for byte what deploys — and
 * nothing else runs in the Worker's process.
 *
 * `--port` is a workerd socket bound to the Worker itself (Miniflare's `unsafeDirectSockets`), not
 * Miniflare's entry Worker: that one is JavaScript in front of every request (two `new Request`s,
 * URL and header rewriting, route matching, error prettifying, FL-style compression), a service
 * hop on every call and every streamed chunk, ≈ 0.4 ms of workerd CPU per request one at a time
 * (BENCHMARKS.md, session 21), and nothing like it runs on Cloudflare. What it gave that the
 * Worker now goes without locally: `CF-Connecting-IP` from the socket's peer (Cloudflare's edge
 * always sets it; locally a request carries the header only if its client sends one, and without
 * it every caller counts as one `unknown` address, as every local caller was 127.0.0.1) and
 * `request.cf` (the Worker reads neither `cf` nor geolocation).
 * Crons are run by hand at `GET /cdn-cgi/local/scheduled?cron=<expression>` on Miniflare's own
 * socket (its trigger handler), on `--triggers-port` (0 = any free port), loopback only, printed
 * as `[runtime] triggers on <url>`. Deployed, `/cdn-cgi/` belongs to Cloudflare and never reaches
 * the Worker.
 *
 * Usage (scripts/local-stack.ts spawns it, in its own process group):
 *   IGRIS_RUNTIME_VARS='{"KEY":"value",…}' node scripts/runtime.ts --port N --persist-to DIR
 *                                          [--triggers-port N] [--main FILE] [--inspector-port N]
 * IGRIS_RUNTIME_VARS: Worker vars and secrets over wrangler.toml's and .dev.vars' (the admin key, the
 * encryption key…). In the environment, not the arguments: any local user can read a process's
 * command line, only its owner its environment (`wrangler dev --var` put them on the command line).
 * `--main`: another entry module with the same bindings (the benchmarks' wrappers of the Worker).
 * `--inspector-port`: opens workerd's inspector (CPU profiles in the benchmarks); off by default.
 * SIGTERM or SIGINT stops workerd and removes the bundle.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { applyMigrations, readMigrations, withLocalD1 } from './runtime.migrations.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const WORKER = 'igris-edge';
const WRANGLER = path.join(ROOT, 'node_modules', '.bin', 'wrangler');

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'persist-to': { type: 'string' },
    main: { type: 'string' },
    'inspector-port': { type: 'string' },
    'triggers-port': { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

function fail(message: string): never {
  console.error(`[runtime] ${message}`);
  process.exit(1);
}

function portArg(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) fail(`--${name} must be a port number`);
  return n;
}
const port = portArg('port', values.port);
const triggersPort = portArg('triggers-port', values['triggers-port']);
const persistTo = values['persist-to'] ?? fail('--persist-to is required');

/** IGRIS_RUNTIME_VARS (a JSON object of strings), removed from the environment workerd inherits. */
function takeVars(): Record<string, string> {
  const raw = process.env.IGRIS_RUNTIME_VARS;
  delete process.env.IGRIS_RUNTIME_VARS;
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    fail('IGRIS_RUNTIME_VARS is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    fail('IGRIS_RUNTIME_VARS must be a JSON object');
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') fail(`IGRIS_RUNTIME_VARS.${key} must be a string`);
    vars[key] = value;
  }
  return vars;
}

const vars = takeVars();

/**
 * `wrangler deploy --dry-run` into a directory of its own under .wrangler/ (workerd resolves the
 * script relative to the project root and refuses paths outside it). Returns the bundle's path.
 */
function bundle(outdir: string, main: string | undefined): string {
  const result = spawnSync(
    WRANGLER,
    ['deploy', ...(main ? [main] : []), '--dry-run', '--outdir', outdir, '--config', 'wrangler.toml'],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false' }, encoding: 'utf8' },
  );
  if (result.status !== 0) fail(`wrangler deploy --dry-run failed:\n${result.stdout}\n${result.stderr}`);
  const script = readdirSync(outdir).find((f) => f.endsWith('.js'));
  if (!script) fail(`wrangler deploy --dry-run wrote no script to ${outdir}`);
  return path.join(outdir, script);
}

const BUNDLES = path.join(ROOT, '.wrangler', 'runtime');

/** Removes the bundles of runtimes that are gone (a SIGKILL leaves its bundle behind). */
function sweepBundles(): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(BUNDLES);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number.parseInt(entry, 10);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH')
        rmSync(path.join(BUNDLES, entry), { recursive: true, force: true });
    }
  }
}

sweepBundles();
const outdir = path.join(BUNDLES, `${process.pid}-${randomBytes(4).toString('hex')}`);
mkdirSync(outdir, { recursive: true });
const removeBundle = () => rmSync(outdir, { recursive: true, force: true });
process.once('exit', removeBundle);

// A signal during the build (spawnSync holds the event loop) is handled when it returns: the
// runtime leaves without starting workerd.
let mf: Miniflare | null = null;
let stopping: Promise<void> | null = null;
function stop(): Promise<void> {
  stopping ??= (mf?.dispose() ?? Promise.resolve()).catch(() => undefined).finally(() => process.exit(0)); // the 'exit' handler removes the bundle
  return stopping;
}
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());

const scriptPath = bundle(outdir, values.main);
// wrangler.toml's bindings as Miniflare options (what `wrangler dev` and vitest's pool use), with
// .dev.vars read as wrangler does. The bundle is one module, so no module rules.
const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, 'wrangler.toml'));
const { modulesRules: _rules, ...options } = workerOptions;
const inspectorPort = values['inspector-port'] ? Number(values['inspector-port']) : undefined;

/**
 * The D1 migrations, applied before the Worker's runtime opens its port, so no request ever meets a
 * database without its tables (scripts/runtime.migrations.ts), in a runtime of its own holding only
 * the D1 binding under the same persist path.
 */
async function migrate(): Promise<void> {
  const applied = await withLocalD1(ROOT, persistTo, options.d1Databases, (db) =>
    applyMigrations(db, readMigrations(path.join(ROOT, 'migrations'))),
  );
  if (applied.length)
    console.log(`[runtime] applied ${applied.length} D1 migration(s): ${applied.join(', ')}`);
}

try {
  await migrate();
} catch (err) {
  fail(`D1 migrations failed: ${err instanceof Error ? err.message : String(err)}`);
}
if (stopping) await stopping;

mf = new Miniflare(
  convertV4MiniflareOptions({
    rootPath: ROOT,
    // Miniflare's entry socket: only the cron trigger handler is used, on loopback.
    host: '127.0.0.1',
    port: triggersPort,
    inspectorPort,
    resourcePersistencePath: path.join(persistTo, 'v3'),
    unsafeTriggerHandlers: true,
    // Miniflare would log each request through a loopback call to this process: off, as wrangler
    // dev has it for the Worker's runtime (the gateway's audit trail and logs say what happened).
    logRequests: false,
    workers: [
      {
        ...options,
        name: WORKER,
        // The port callers use: workerd's socket straight to the Worker's default export.
        unsafeDirectSockets: [{ host: values.host, port }],
        modules: true,
        scriptPath: path.relative(ROOT, scriptPath),
        bindings: { ...(options.bindings as Record<string, unknown> | undefined), ...vars },
      },
    ],
    // wrangler's SourcelessWorkerOptions type is its own copy of Miniflare's v4 worker options.
  } as V4MiniflareOptions),
);

try {
  const triggers = await mf.ready;
  const url = await mf.unsafeGetDirectURL(WORKER);
  if (stopping) await stopping;
  console.log(`[runtime] the Worker is serving on ${url.origin}`);
  console.log(`[runtime] triggers on ${triggers.origin}/cdn-cgi/local/scheduled`);
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
