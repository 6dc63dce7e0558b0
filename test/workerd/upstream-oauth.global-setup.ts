import type { TestProject } from 'vitest/node';
import { startUpstreamOAuthFake } from '../shared/upstream-oauth.fake';

/** Starts the fake upstream authorization server + MCP resource for OAuth upstream mode (vitest.config.ts binds its URL). */
export default async function setup(project: TestProject) {
  const fake = await startUpstreamOAuthFake();
  project.provide('upstreamOAuthUrl', fake.url);
  return async () => fake.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    upstreamOAuthUrl: string;
  }
}
