import { defineConfig } from "vitest/config";

// `npm run test:faults`: crash, restart and outage scenarios against real Entourage processes.
// One file at a time: each drives its own load and the machine is small.
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 90_000,
    pool: "forks",
    fileParallelism: false,
    reporters: ["default"],
  },
});
