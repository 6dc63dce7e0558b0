/**
 * End-to-end: the product as `npm start` runs it (the deploy bundle on workerd with local D1/KV/DOs: scripts/runtime.ts),
 * on free ports with a throwaway state directory, plus real upstream MCP servers:
 *   - the SDK-built demo server (scripts/demo-mcp-server.ts): /mcp (sessions) and /stateless
 *   - @modelcontextprotocol/server-everything in streamableHttp mode
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, newApiKey, newEncryptionKey, ROOT, startStack } from '../../scripts/local-stack';
import { startFakeProvider } from './llm.fake-provider.ts';

async function startEverything(port: number): Promise<ChildProcess> {
  const entry = path.join(
    ROOT,
    'node_modules',
    '@modelcontextprotocol',
    'server-everything',
    'dist',
    'index.js',
  );
  // An empty environment apart from what it needs: its get-env tool would print whatever it has.
  const child = spawn(process.execPath, [entry, 'streamableHttp'], {
    env: { PORT: String(port), PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'GET' });
      await res.body?.cancel();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  child.kill('SIGKILL');
  throw new Error('server-everything did not start');
}

export default async function setup(project: TestProject) {
  const persistTo = mkdtempSync(path.join(os.tmpdir(), 'igris-e2e-'));
  const adminApiKey = newApiKey();
  const [port, everythingPort] = [await freePort(), await freePort()];
  const everything = await startEverything(everythingPort);
  const stack = await startStack({
    port,
    persistTo,
    adminApiKey,
    encryptionKey: newEncryptionKey(),
    // Notification retries a second apart (doubling), four attempts before the dead-letter list
    // (test/e2e/notify.channels.e2e.test.ts), instead of production's 30 s and six.
    vars: { NOTIFY_RETRY_BASE_SECONDS: '1', NOTIFY_MAX_ATTEMPTS: '4' },
  });
  project.provide('gatewayUrl', stack.gatewayUrl);
  project.provide('triggersUrl', stack.triggersUrl);
  project.provide('adminApiKey', adminApiKey);
  project.provide('upstreamUrl', stack.upstream!.url);
  project.provide('everythingUrl', `http://127.0.0.1:${everythingPort}`);
  project.provide('persistTo', persistTo);
  // A fake OpenAI/Anthropic-compatible provider for the docs' LLM examples (docs/llm-gateway.md), as a
  // self-hosted server would be (the LLM gateway's own tests start theirs).
  const llmKey = `sk-docs-provider-${adminApiKey.slice(-8)}`;
  const llm = await startFakeProvider({ apiKey: llmKey });
  project.provide('llmProvider', { url: llm.url, key: llmKey });
  return async () => {
    await llm.close();
    await stack.stop();
    everything.kill('SIGTERM');
    rmSync(persistTo, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    gatewayUrl: string;
    /** Miniflare's cron trigger (scripts/local-stack.ts RunningStack.triggersUrl). */
    triggersUrl: string;
    adminApiKey: string;
    upstreamUrl: string;
    everythingUrl: string;
    persistTo: string;
    llmProvider: { url: string; key: string };
  }
}
