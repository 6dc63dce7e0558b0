import type { TestProject } from 'vitest/node';
import { FAKE_CLIENTS, startFakeProvider } from './auth.fake-provider';

/** Starts the fake GitHub/Google provider for the OAuth sign-in tests (vitest.config.ts binds its URLs). */
export default async function setup(project: TestProject) {
  const fake = await startFakeProvider();
  project.provide('fakeOAuth', { url: fake.url, github: FAKE_CLIENTS.github, google: FAKE_CLIENTS.google });
  return async () => fake.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    fakeOAuth: {
      url: string;
      github: { clientId: string; clientSecret: string };
      google: { clientId: string; clientSecret: string };
    };
  }
}
