import type { Queryable } from "../../db/create-db.js";
import { randomToken } from "../../lib/random-token.js";
import { sha256Hex } from "../../lib/sha256-hex.js";

export type SetupPurpose = "manifest" | "install";

/** A state lives one hour and is used once. */
export const SETUP_STATE_TTL_MS = 60 * 60 * 1000;

/** Mints a single-use state bound to `orgId`; only its hash is stored. */
export async function mintSetupState(db: Queryable, orgId: string, purpose: SetupPurpose): Promise<string> {
  const state = randomToken(24);
  await db("github_setup_states").insert({ state_hash: sha256Hex(state), org_id: orgId, purpose, expires_at: new Date(Date.now() + SETUP_STATE_TTL_MS) });
  return state;
}

/** Spends a state: the org it was minted for and when, or undefined when unknown, used, expired or for something else. */
export async function spendSetupState(db: Queryable, state: string, purpose: SetupPurpose): Promise<{ org_id: string; created_at: Date } | undefined> {
  const [row] = (await db("github_setup_states")
    .where({ state_hash: sha256Hex(state), purpose })
    .whereNull("used_at")
    .where("expires_at", ">", db.fn.now())
    .update({ used_at: db.fn.now() })
    .returning(["org_id", "created_at"])) as { org_id: string; created_at: Date }[];
  return row;
}
