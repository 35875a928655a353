import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { Secrets } from "./app-context.js";
import type { Config } from "./config.js";

interface StoredSecrets {
  JWT_SECRET: string;
  ENCRYPTION_KEY: string;
}

/**
 * JWT_SECRET and ENCRYPTION_KEY from the environment; in embedded mode, missing ones are
 * generated once and kept in `<data dir>/secrets.json` (mode 0600) so restarts keep tokens
 * and encrypted webhook secrets valid.
 */
export async function resolveSecrets(config: Config, logger: Logger): Promise<Secrets> {
  let jwtSecret = config.JWT_SECRET;
  let encryptionKey = config.ENCRYPTION_KEY;
  if (!jwtSecret || !encryptionKey) {
    const file = path.join(config.dataDir, "secrets.json");
    let stored = await fs
      .readFile(file, "utf8")
      .then((text) => JSON.parse(text) as StoredSecrets)
      .catch(() => undefined);
    if (!stored) {
      stored = { JWT_SECRET: randomBytes(32).toString("hex"), ENCRYPTION_KEY: randomBytes(32).toString("hex") };
      await fs.mkdir(config.dataDir, { recursive: true, mode: 0o755 });
      await fs.writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600, flag: "wx" }).catch(async (error) => {
        // Another process (a CLI beside the server) wrote it first: use theirs.
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        stored = JSON.parse(await fs.readFile(file, "utf8")) as StoredSecrets;
      });
      logger.info({ file }, "generated JWT_SECRET and ENCRYPTION_KEY for embedded mode and kept them in the data dir");
    }
    jwtSecret ??= stored!.JWT_SECRET;
    encryptionKey ??= stored!.ENCRYPTION_KEY;
  }
  return { jwtSecret, encryptionKey: Buffer.from(encryptionKey, "hex") };
}
