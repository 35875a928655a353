import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { sign } from "@octokit/webhooks-methods";
import { afterAll, describe, expect, it } from "vitest";
import { githubAppEnv, TEST_WEBHOOK_SECRET } from "../../helpers/github-app.js";
import { githubExample } from "../../helpers/github-examples.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";

/** A local stand-in for a smee.io channel: an event stream that relays what is published to it. */
function startFakeSmee(): Promise<{ server: http.Server; url: string; listeners(): number; publish(message: unknown): void }> {
  const streams: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.write("event: ready\ndata: {}\n\n");
    streams.push(res);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        server,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/channel`,
        listeners: () => streams.length,
        publish: (message) => streams.forEach((res) => res.write(`data: ${JSON.stringify(message)}\n\n`)),
      }),
    ),
  );
}

describe("WEBHOOK_PROXY_URL (smee) for local development", () => {
  let app: TestApp | undefined;
  let smee: Awaited<ReturnType<typeof startFakeSmee>> | undefined;
  afterAll(async () => {
    await app?.close();
    smee?.server.closeAllConnections();
    await new Promise((resolve) => smee?.server.close(resolve));
  });

  it("forwards the channel's deliveries to /api/github/webhooks", async () => {
    smee = await startFakeSmee();
    app = await startTestApp(githubAppEnv({ WEBHOOK_PROXY_URL: smee.url }));
    const payload = githubExample("issues", "opened");
    payload.installation = { id: 8080, node_id: "I" };
    const guid = randomUUID();
    // Wait for the client to connect, then publish the way smee.io does: headers, body, query.
    await waitFor(() => smee!.listeners() > 0, "the smee client to connect");
    smee.publish({
      "x-github-event": "issues",
      "x-github-delivery": guid,
      "x-hub-signature-256": await sign(TEST_WEBHOOK_SECRET, JSON.stringify(payload)),
      body: payload,
      query: {},
    });
    const kept = await waitFor(() => app!.db.knex("unrouted_deliveries").where({ delivery_guid: guid }).first(), "the forwarded delivery");
    expect(kept).toMatchObject({ event_type: "issues.opened", installation_id: 8080 });
  });
});
