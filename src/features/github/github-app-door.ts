import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { AuthenticationError, InputError, NotFoundError, UnavailableError } from "../../errors.js";
import { answerDoorError } from "../../http/answer-door-error.js";
import type { BodyBudget } from "../../http/body-budget.js";
import type { ClientAborts } from "../../http/client-aborts.js";
import { readBody } from "../../http/read-body.js";
import { sendJson } from "../../http/send-json.js";
import { MAX_WEBHOOK_BODY_BYTES, TOO_LARGE } from "../webhooks/receive-webhook.js";
import { verifySignature } from "../webhooks/verify-signature.js";
import { GITHUB_APP_HOW_TO } from "./github-app-credentials.js";
import { firstHeader, keptHeaders } from "../webhooks/kept-headers.js";

export const GITHUB_APP_WEBHOOKS_PATH = "/api/github/webhooks";
const PATH = /^\/api\/github\/webhooks\/?(?:\?.*)?$/;


/** Probot's `receive`: runs the App's handlers for a delivery whose signature has been checked. */
export type ReceiveAppEvent = (event: { id: string; name: string; payload: object }) => Promise<void>;

/** The raw document and headers of a delivery in flight, for the App handler (Probot hands it only the parsed payload). */
export interface RawAppDelivery {
  payloadText: string;
  headers: Record<string, string>;
}

/** The App door in front of Probot; `handles` says whether a request is for it. */
export interface GithubAppDoor {
  handles(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The raw delivery for a GUID while its request is in flight. */
  takeRaw(guid: string): RawAppDelivery | undefined;
}

const REJECTION_LOG_INTERVAL_MS = 10_000;

/**
 * `POST /api/github/webhooks`:
 * 1. read the raw bytes (25 MB cap, within the budget both doors share) — nothing has parsed them;
 * 2. check X-Hub-Signature-256 against WEBHOOK_SECRET first, so a forged request costs one
 *    short log line (rate-limited) instead of Probot's full-payload error logs: 401;
 * 3. parse it and hand it to Probot's `receive`, which runs the app function (it routes the
 *    delivery into the pipeline): the HMAC is computed once per request, here.
 */
export interface GithubAppDoorOptions {
  receive: ReceiveAppEvent;
  webhookSecret: string;
  logger: Logger;
  /** Shared with the other door: bytes of bodies not yet verified. */
  bodyBudget: BodyBudget;
  clientAborts: ClientAborts;
}

export function createGithubAppDoor(options: GithubAppDoorOptions): GithubAppDoor {
  const inFlight = new Map<string, RawAppDelivery>();
  let lastRejectionLog = 0;
  let suppressed = 0;
  return {
    handles: (req) => PATH.test(req.url ?? ""),
    takeRaw: (guid) => inFlight.get(guid),
    async handle(req, res) {
      try {
        await handle(req, res);
      } catch (error) {
        // Not stored, so not acknowledged: GitHub marks it failed and the recovery asks again.
        answerDoorError("github-app", req, res, error, options);
      }
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST") throw new NotFoundError(`No route for ${req.method} ${GITHUB_APP_WEBHOOKS_PATH}`);
    const body = await readBody(req, res, { limit: MAX_WEBHOOK_BODY_BYTES, budget: options.bodyBudget, tooLargeMessage: TOO_LARGE });
    const headers = keptHeaders(req);
    const signature = firstHeader(req, "x-hub-signature-256");
    if (!verifySignature([options.webhookSecret], body, signature)) {
      const now = Date.now();
      if (now - lastRejectionLog >= REJECTION_LOG_INTERVAL_MS) {
        options.logger.warn(
          { guid: headers["x-github-delivery"], event: headers["x-github-event"], suppressed },
          "refused a GitHub App delivery: X-Hub-Signature-256 does not match WEBHOOK_SECRET (check the App's webhook secret)",
        );
        lastRejectionLog = now;
        suppressed = 0;
      } else {
        suppressed++;
      }
      throw new AuthenticationError(
        signature ? "X-Hub-Signature-256 does not match: the App's webhook secret must equal WEBHOOK_SECRET" : "Missing X-Hub-Signature-256",
        "invalid_signature",
      );
    }
    const guid = headers["x-github-delivery"];
    const name = headers["x-github-event"];
    if (!guid || !name) throw new InputError("Missing X-GitHub-Delivery or X-GitHub-Event header");
    const raw = { payloadText: body.toString("utf8"), headers };
    let payload: unknown;
    try {
      payload = JSON.parse(raw.payloadText);
    } catch {
      throw new InputError("The body is not valid JSON", undefined, "invalid_json");
    }
    if (!payload || typeof payload !== "object") throw new InputError("The body is not a JSON object", undefined, "invalid_json");
    inFlight.set(guid, raw);
    try {
      await options.receive({ id: guid, name, payload });
    } catch (error) {
      // The app function refuses with a status (503: not stored, so not acknowledged).
      const inner = (error instanceof AggregateError ? error.errors[0] : error) as { status?: number; message?: string };
      if (inner?.status === 503) throw new UnavailableError("The delivery could not be stored; retry later", 5);
      throw error;
    } finally {
      if (inFlight.get(guid) === raw) inFlight.delete(guid);
    }
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  }
}

/** The door while APP_ID / PRIVATE_KEY / WEBHOOK_SECRET are missing: a clear 503 saying how to turn it on. */
export function createDisabledGithubAppDoor(missing: string[]): GithubAppDoor {
  return {
    handles: (req) => PATH.test(req.url ?? ""),
    takeRaw: () => undefined,
    async handle(_req, res) {
      sendJson(res, 503, {
        error: {
          code: "github_app_disabled",
          message: `The GitHub App path is off (missing ${missing.join(", ")}): ${GITHUB_APP_HOW_TO}`,
          details: { missing },
        },
      });
    },
  };
}


