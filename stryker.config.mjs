// Mutation testing (npm run test:mutation). Not part of CI: it reruns the covering tests once per mutant.
// MUTATION_FOLDERS picks the feature folders to mutate (default: all three), so one folder can run at a time:
//   MUTATION_FOLDERS=tasks npm run test:mutation
// MUTATION_COVERAGE=all turns per-test coverage off (see below).
// MUTATION_CONCURRENCY sets the number of parallel test runners (default 2; each holds a vitest instance).
const folders = (process.env.MUTATION_FOLDERS ?? "automation,tasks,webhooks").split(",").map((f) => f.trim());

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts" },
  mutate: folders.map((folder) => `src/features/${folder}/**/*.ts`),
  // Only the tests that reach a mutant run for it; MUTATION_COVERAGE=all runs every test for every mutant instead.
  coverageAnalysis: process.env.MUTATION_COVERAGE === "all" ? "all" : "perTest",
  // Mutants in module-level code (constants, schemas) would rerun every test each; they are left out.
  ignoreStatic: true,
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 30_000,
  // The first run of the whole suite, on a busy two-core machine, can take longer than the 5-minute default.
  dryRunTimeoutMinutes: 30,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: `reports/mutation/${folders.join("-")}.html` },
  jsonReporter: { fileName: `reports/mutation/${folders.join("-")}.json` },
  ignorePatterns: ["dist", "reports", ".stryker-tmp", "test-artifacts", ".entourage", "bench", "coverage"],
  // One sandbox folder per folder set, so two runs side by side do not clean up each other's.
  tempDirName: `.stryker-tmp/${folders.join("-")}`,
  cleanTempDir: "always",
};
