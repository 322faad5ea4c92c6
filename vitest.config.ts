import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Lab tests start real servers and processes.
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
});
