#!/usr/bin/env node
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, readDotEnv } from "./config.js";
import { createDb } from "./db/create-db.js";
import { EmbeddedPostgresError } from "./db/embedded-postgres-error.js";
import { migrateLatest } from "./db/migrate.js";
import { runMcpStdio } from "./features/mcp/run-mcp-stdio.js";
import { bootstrapOrg, type BootstrapResult } from "./features/orgs/bootstrap-org.js";
import { createLogger } from "./lib/create-logger.js";
import { startEntourage } from "./main.js";

const USAGE = `Usage: entourage <command> [options]

Commands:
  serve                      run the HTTP server (and the worker)
  worker                     run only the delivery worker (another machine, same DATABASE_URL)
  migrate                    apply database migrations and exit
  bootstrap --org NAME --team NAME [--engineers N] [--json]
                             create an org, a team, N engineer agents and an admin API key
  mcp                        MCP server on stdio for one agent (env ENTOURAGE_API_KEY, ENTOURAGE_AGENT_ID,
                             ENTOURAGE_URL=http://localhost:8000); talks to Entourage over its HTTP API

Configuration comes from the environment and ./.env (see .env.example).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  // Before loadConfig: the MCP server needs none of the server's settings, and stdout is its transport.
  if (command === "mcp") return runMcpStdio(process.env);
  const config = loadConfig({ ...readDotEnv(), ...process.env });
  const logger = createLogger(config);

  switch (command) {
    case "serve":
    case "worker":
      return serve(command, config, logger);
    case "migrate": {
      const db = await createDb(config, { logger });
      try {
        const applied = await migrateLatest(db.knex);
        console.log(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(", ")}` : "Database is up to date");
      } finally {
        await db.close();
      }
      return 0;
    }
    case "bootstrap": {
      const { values } = parseArgs({
        args: rest,
        options: {
          org: { type: "string" },
          team: { type: "string" },
          engineers: { type: "string", default: "2" },
          json: { type: "boolean", default: false },
        },
      });
      const engineers = Number(values.engineers);
      if (!values.org || !values.team || !Number.isInteger(engineers) || engineers < 0 || engineers > 100) {
        console.error("bootstrap needs --org NAME --team NAME [--engineers N (0-100)] [--json]");
        return 2;
      }
      const db = await createDb(config, { logger });
      try {
        await migrateLatest(db.knex);
        const result = await bootstrapOrg(db.knex, { orgName: values.org, teamName: values.team, engineers });
        console.log(values.json ? JSON.stringify(result) : describeBootstrap(result, config.PUBLIC_URL));
      } finally {
        await db.close();
      }
      return 0;
    }
    default:
      console.error(`Unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function serve(role: "serve" | "worker", config: ReturnType<typeof loadConfig>, logger: ReturnType<typeof createLogger>): Promise<number> {
  const entourage = await startEntourage({ config, logger, role });
  if (entourage.firstRun) console.log(describeBootstrap(entourage.firstRun, config.PUBLIC_URL));
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down: draining requests and work in flight");
      entourage.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

function describeBootstrap(result: BootstrapResult, publicUrl: string): string {
  return [
    "",
    "  Entourage is ready. This admin API key is shown once; keep it:",
    "",
    `    ${result.api_key}`,
    "",
    `  Org ${result.org_id}, team ${result.team_id}, agents: ${result.agents.map((a) => a.name).join(", ") || "none"}`,
    `  Dashboard:  ${publicUrl}/`,
    `  API:        curl -H "X-API-Key: ${result.api_key}" ${publicUrl}/api/v1/teams`,
    "",
  ].join("\n");
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    if (error instanceof EmbeddedPostgresError) {
      console.error(error.message); // one sentence that says what to do: a stack trace would bury it
      process.exit(1);
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
