import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

// The tests StrykerJS runs against mutants (stryker.config.mjs): everything that exercises the automation,
// tasks and webhooks folders through the real pipeline. The browser test and the stdio/CLI tests start
// child processes from dist/, which never sees a mutant, so they are left out.
export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: [
        "test/faults/**",
        "test/features/dashboard/**",
        "test/features/mcp/mcp-stdio.test.ts",
        "test/cli/**",
        "test/fuzz/**",
        "test/db/embedded-postgres*.test.ts",
        "**/node_modules/**",
      ],
    },
  }),
);
