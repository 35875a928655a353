import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

// The tests StrykerJS runs against mutants (stryker.config.mjs): everything that exercises the automation,
// tasks and webhooks folders through the real pipeline. The browser test and the stdio/CLI tests start
// child processes from dist/, which never sees a mutant, so they are left out.
// MUTATION_TESTS (comma-separated globs) narrows the tests that may kill a mutant. The delivery
// worker is on the path of nearly every test, so per-test coverage reruns most of the suite for
// each of its mutants (measured: an estimated 7 hours for 347 mutants); its own folder's tests
// give a lower bound in about an hour:
//   MUTATION_TESTS='test/features/webhooks/**/*.test.ts'
const narrowed = process.env.MUTATION_TESTS?.split(",").map((glob) => glob.trim());

const config = mergeConfig(
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
// mergeConfig joins arrays, so the narrowed list replaces the base one after the merge.
if (narrowed) config.test!.include = narrowed;

export default config;
