import { Router } from "express";
import { z } from "zod";
import type { AppContext } from "../../app-context.js";
import { NotAllowedError } from "../../errors.js";
import { parseInput, uuidParam } from "../../http/parse-input.js";
import { requestAuth } from "../../http/request-auth.js";
import { createApiKey, listOrgApiKeys, revokeOrgApiKey } from "./api-keys.service.js";
import { signOrgToken } from "./jwt-tokens.js";

const DEFAULT_TOKEN_SECONDS = 15 * 60;
const MAX_TOKEN_SECONDS = 24 * 60 * 60;

export const tokenBody = z.strictObject({
  expires_in: z.number().int().min(30).max(MAX_TOKEN_SECONDS).default(DEFAULT_TOKEN_SECONDS),
});

export const createKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(200).default("api key"),
});

export function createAuthRouter(ctx: AppContext): Router {
  const router = Router();

  router.post("/auth/token", (req, res) => {
    const auth = requestAuth(req);
    // A token cannot extend itself: only an API key mints tokens.
    if (auth.via !== "api_key") throw new NotAllowedError("Tokens are issued for an API key: send it as X-API-Key");
    const body = parseInput(tokenBody, req.body);
    res.json(signOrgToken(ctx.secrets.jwtSecret, { orgId: auth.orgId, apiKeyId: auth.apiKeyId }, body.expires_in));
  });

  // A token cannot manage keys: otherwise a short-lived token could mint a permanent key.
  router.use("/api-keys", (req, _res, next) => {
    if (requestAuth(req).via !== "api_key") throw new NotAllowedError("API keys are managed with an API key (X-API-Key), not a token");
    next();
  });

  router.get("/api-keys", async (req, res) => {
    res.json(await listOrgApiKeys(ctx.knex, requestAuth(req).orgId));
  });

  router.post("/api-keys", async (req, res) => {
    const body = parseInput(createKeyBody, req.body);
    res.status(201).json(await createApiKey(ctx.knex, requestAuth(req).orgId, body.name));
  });

  router.delete("/api-keys/:id", async (req, res) => {
    await revokeOrgApiKey(ctx.knex, requestAuth(req).orgId, uuidParam(req.params.id, "API key"));
    res.status(204).end();
  });

  return router;
}
