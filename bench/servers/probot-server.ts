// (b) A bare Probot app: createNodeMiddleware on node:http, a handler that does nothing.
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import { createNodeMiddleware, createProbot, type Probot } from "probot";

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
const probot = createProbot({
  env: { APP_ID: "1", PRIVATE_KEY: privateKey, WEBHOOK_SECRET: process.env.BENCH_SECRET ?? "", LOG_LEVEL: "warn" },
});
const middleware = await createNodeMiddleware(
  (app: Probot) => {
    app.on("issues.opened", async () => {});
  },
  { probot },
);
const server = http.createServer((req, res) => {
  void middleware(req, res, () => {
    res.writeHead(404);
    res.end();
  });
});
server.keepAliveTimeout = 5_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`listening on ${(server.address() as { port: number }).port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
