import { randomUUID } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { startUpstream } from '../../scripts/demo-mcp-server';
import { startTestAgent } from '../e2e/a2a.agent.ts';
import { startFakeProvider } from '../e2e/llm.fake-provider.ts';
import { startRecorder } from './upstream.recorder';

/** Starts a real MCP server (official SDK) on a free local port for the workerd tests to call. */
export default async function setup(project: TestProject) {
  const upstream = await startUpstream({ name: 'workerd-test-upstream' });
  project.provide('upstreamUrl', upstream.url);
  // The same upstream behind a recording proxy, for tests that must prove what it received.
  const recorder = await startRecorder(upstream.url);
  project.provide('upstreamRecorderUrl', recorder.url);
  // An upstream that authenticates by query parameter (authType "query"): 401 without it.
  const queryAuth = { name: 'api_key', value: `sekret-query-${randomUUID()}` };
  const queryUpstream = await startUpstream({ name: 'workerd-query-upstream', requireQuery: queryAuth });
  project.provide('queryUpstream', { url: queryUpstream.url, ...queryAuth });
  // A fake LLM provider (OpenAI and Anthropic APIs) that requires its own key, for the LLM gateway.
  const llmKey = `sk-fake-llm-${randomUUID()}`;
  const llm = await startFakeProvider({ apiKey: llmKey });
  project.provide('llmFake', { url: llm.url, key: llmKey });
  // A real A2A agent (official @a2a-js/sdk server) that requires its own bearer credential.
  const a2aCredential = `a2a-agent-${randomUUID()}`;
  const a2a = await startTestAgent(a2aCredential);
  project.provide('a2aAgent', { url: a2a.url, credential: a2aCredential });
  return async () => {
    await a2a.close();
    await llm.close();
    await recorder.close();
    await upstream.close();
    await queryUpstream.close();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    upstreamUrl: string;
    upstreamRecorderUrl: string;
    queryUpstream: { url: string; name: string; value: string };
    llmFake: { url: string; key: string };
    a2aAgent: { url: string; credential: string };
  }
}
