import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertPublicDestination, isForbiddenAddress } from "../../../src/features/notifications/outbound-url-safety.js";
import { createPublicOnlyAgent } from "../../../src/features/notifications/public-only-agent.js";
import { sendOutboundRequest } from "../../../src/features/notifications/send-outbound-request.js";
import { startWebhookReceiver, type WebhookReceiver } from "../../helpers/start-webhook-receiver.js";

describe("outbound URL safety", () => {
  it.each([
    "127.0.0.1",
    "127.5.6.7",
    "0.0.0.0",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.100.100.200",
    "224.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:a9fe:a9fe",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "::ffff:0:7f00:1", // IPv4-translated (::ffff:0:0:0/96)
    "::ffff:0:808:808",
    "64:ff9b:1::808:808", // NAT64 local-use (64:ff9b:1::/48)
    "64:ff9b:1::7f00:1",
    "2002:7f00:1::1", // 6to4 (2002::/16)
    "2002:808:808::1",
    "2001:db8::1",
    "100::1",
    "not-an-ip",
    "1.2.3",
  ])("refuses %s", (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(["93.184.215.14", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])(
    "allows the public address %s",
    (address) => {
      expect(isForbiddenAddress(address)).toBe(false);
    },
  );

  it("refuses a host name that resolves to loopback, without saying the address", async () => {
    const refusal = assertPublicDestination("http://localhost:9/hook");
    await expect(refusal).rejects.toThrow("localhost resolves to a non-public address");
    await expect(refusal).rejects.not.toThrow(/127\.0\.0\.1|::1/);
  });

  it("refuses bracketed IPv6 literals, including IPv4-mapped ones, without echoing them", async () => {
    await expect(assertPublicDestination("http://[::ffff:127.0.0.1]/hook")).rejects.toThrow(/^the URL's host is a non-public address$/);
    await expect(assertPublicDestination("https://[fd00:ec2::254]/")).rejects.toThrow(/^the URL's host is a non-public address$/);
  });

  it("accepts a public IP literal without any lookup", async () => {
    await expect(assertPublicDestination("https://93.184.215.14/hook")).resolves.toBeUndefined();
  });

  describe("connects only to the address it checked", () => {
    let receiver: WebhookReceiver;
    beforeAll(async () => {
      receiver = await startWebhookReceiver();
    });
    afterAll(() => receiver.close());

    const send = (url: string, dispatcher: Agent, allowPrivate = false) =>
      sendOutboundRequest({
        url,
        deliveryId: "d-1",
        eventType: "task.created",
        body: "{}",
        secrets: ["whsec_test"],
        apiKey: "k-secret-value",
        timeoutMs: 5_000,
        dispatcher,
        allowPrivate,
      });

    it("refuses a name whose lookup at connect time answers a private address (DNS rebinding), and nothing arrives", async () => {
      const port = new URL(receiver.url).port;
      const lookups: string[] = [];
      // A rebinding resolver: the name looks public to anyone who asks first, loopback afterwards.
      const agent = createPublicOnlyAgent(async (host) => {
        lookups.push(host);
        return ["127.0.0.1"];
      });
      const result = await send(`http://rebind.example.com:${port}/hook`, agent);
      expect(lookups).toEqual(["rebind.example.com"]);
      expect(result.status_code).toBeNull();
      expect(result.error).toBe("rebind.example.com resolves to a non-public address");

      // Positive marker: the same receiver is reachable through an agent without the rule.
      const marker = await send(`${new URL(receiver.url).origin}/marker`, new Agent(), true);
      expect(marker.status_code).toBe(200);
      expect(receiver.requests.map((request) => request.path)).toEqual(["/marker"]);
      await agent.close();
    });

    it("refuses when any of the addresses is private, even if the first is public", async () => {
      const port = new URL(receiver.url).port;
      const agent = createPublicOnlyAgent(async () => ["93.184.215.14", "::1"]);
      const result = await send(`http://mixed.example.com:${port}/hook`, agent);
      expect(result.error).toBe("mixed.example.com resolves to a non-public address");
      expect(JSON.stringify(result)).not.toContain("k-secret-value");
      await agent.close();
    });

    it("refuses a private IP literal before connecting", async () => {
      const agent = createPublicOnlyAgent(async () => []);
      const result = await send(receiver.url, agent);
      expect(result.error).toBe("the URL's host is a non-public address");
      await agent.close();
    });
  });
});
