import type { TestProject } from 'vitest/node';
import { startOversizeFake } from '../shared/oversize.fake';

/** Starts the remote party whose answers can be made too large (vitest.config.ts binds its URL as OVERSIZE_URL). */
export default async function setup(project: TestProject) {
  const fake = await startOversizeFake();
  project.provide('oversizeUrl', fake.url);
  return async () => fake.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    oversizeUrl: string;
  }
}
