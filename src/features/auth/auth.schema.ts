import { z } from "zod";
import { timestamp } from "../../http/api-output.js";

/** What every API key starts with (so a leaked one is easy to find in logs and code). */
export const API_KEY_PREFIX = "oc_";

/** An API key as the API lists it: never the key, never its hash; `prefix` tells keys apart. */
export const apiKeyOutput = z.strictObject({
  id: z.uuid(),
  org_id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  created_at: timestamp,
  last_used_at: timestamp.nullable(),
  revoked_at: timestamp.nullable(),
});
export type ApiKeyRow = z.output<typeof apiKeyOutput>;

/** POST /api-keys: the new key, with the key itself shown this once. */
export const createdApiKeyOutput = apiKeyOutput.extend({ key: z.string().startsWith(API_KEY_PREFIX) });
export type CreatedApiKey = z.output<typeof createdApiKeyOutput>;

/** POST /auth/token. */
export const tokenOutput = z.strictObject({ token: z.string(), expires_at: z.iso.datetime() });
