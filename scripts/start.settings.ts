/**
 * What `npm start` runs with. Secrets live in `.dev.vars` (written from .dev.vars.example on first run,
 * with a fresh ENCRYPTION_KEY, SESSION_SECRET and ADMIN_API_KEY). For ADMIN_API_KEY, PORT and
 * DEMO_UPSTREAM_PORT the environment wins over `.dev.vars`, which wins over the default, so
 * `ADMIN_API_KEY=ig_… npm start` and `PORT=9000 npm start` do what they say.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { newApiKey, newEncryptionKey, newSessionSecret, ROOT, StartError } from './local-stack.ts';

const DEV_VARS = path.join(ROOT, '.dev.vars');

export interface StartSettings {
  port: number;
  upstreamPort: number;
  adminApiKey: string;
  /** Where ADMIN_API_KEY came from, for the banner. */
  adminApiKeySource: 'environment' | '.dev.vars';
  encryptionKey: string;
  sessionSecret: string;
  /** Local D1/KV/Durable Object state (IGRIS_STATE_DIR, default .state/). */
  stateDir: string;
  verbose: boolean;
}

// The Worker's bootstrap accepts the same shape (workers/bootstrap/bootstrap.ts).
const API_KEY_SHAPE = /^ig_[A-Za-z0-9_-]{20,200}$/;

function readDevVars(): Record<string, string> {
  if (!existsSync(DEV_VARS)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(DEV_VARS, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (match) vars[match[1]!] = match[2]!.replace(/^"(.*)"$/, '$1');
  }
  return vars;
}

/** `.dev.vars` with every secret filled in (generated where missing, written back once). */
function ensureDevVars(environmentKey: string | undefined): Record<string, string> {
  const vars = readDevVars();
  const generated: string[] = [];
  if (!vars.ENCRYPTION_KEY) {
    vars.ENCRYPTION_KEY = newEncryptionKey();
    generated.push('ENCRYPTION_KEY');
  }
  if (!vars.SESSION_SECRET) {
    vars.SESSION_SECRET = newSessionSecret();
    generated.push('SESSION_SECRET');
  }
  // A key given in the environment is not written to disk; one is generated only when neither has one.
  if (!vars.ADMIN_API_KEY && !environmentKey) {
    vars.ADMIN_API_KEY = newApiKey();
    generated.push('ADMIN_API_KEY');
  }
  if (generated.length > 0) {
    const template = readFileSync(path.join(ROOT, '.dev.vars.example'), 'utf8');
    const filled = template.replace(
      /^([A-Z0-9_]+)=.*$/gm,
      (_line, name: string) => `${name}=${vars[name] ?? ''}`,
    );
    writeFileSync(DEV_VARS, filled, { mode: 0o600 });
    console.log(`[igris] wrote .dev.vars with a fresh ${generated.join(', ')}`);
  }
  return vars;
}

function portSetting(name: string, vars: Record<string, string>, fallback: number): number {
  const raw = process.env[name] || vars[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new StartError(`${name}=${raw} is not a port number (1-65535)`);
  }
  return port;
}

export function loadSettings(): StartSettings {
  const environmentKey = process.env.ADMIN_API_KEY?.trim() || undefined;
  const vars = ensureDevVars(environmentKey);
  const adminApiKey = environmentKey ?? vars.ADMIN_API_KEY!;
  const adminApiKeySource = environmentKey ? 'environment' : '.dev.vars';
  if (!API_KEY_SHAPE.test(adminApiKey)) {
    throw new StartError(
      `ADMIN_API_KEY (from ${adminApiKeySource === 'environment' ? 'the environment' : '.dev.vars'}) must be ig_ followed by 20-200 of A-Z a-z 0-9 _ -`,
    );
  }
  return {
    port: portSetting('PORT', vars, 8787),
    upstreamPort: portSetting('DEMO_UPSTREAM_PORT', vars, 3001),
    adminApiKey,
    adminApiKeySource,
    encryptionKey: vars.ENCRYPTION_KEY!,
    sessionSecret: vars.SESSION_SECRET!,
    stateDir: path.resolve(ROOT, process.env.IGRIS_STATE_DIR || '.state'),
    verbose: process.env.VERBOSE === '1',
  };
}
