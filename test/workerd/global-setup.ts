import type { TestProject } from 'vitest/node';
import { startUpstream } from '../../scripts/demo-mcp-server';

/** Starts a real MCP server (official SDK) on a free local port for the workerd tests to call. */
export default async function setup(project: TestProject) {
  const upstream = await startUpstream({ name: 'workerd-test-upstream' });
  project.provide('upstreamUrl', upstream.url);
  return async () => upstream.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    upstreamUrl: string;
  }
}
