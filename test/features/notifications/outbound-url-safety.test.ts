import { describe, expect, it } from "vitest";
import { assertPublicDestination, isForbiddenAddress } from "../../../src/features/notifications/outbound-url-safety.js";

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
    "not-an-ip",
  ])("refuses %s", (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(["93.184.215.14", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])("allows the public address %s", (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it("refuses a host name that resolves to loopback, naming the address and the flag", async () => {
    await expect(assertPublicDestination("http://localhost:9/hook")).rejects.toThrow(/resolves to (127\.0\.0\.1|::1).*ALLOW_PRIVATE_OUTBOUND=true/);
  });

  it("refuses bracketed IPv6 literals, including IPv4-mapped ones", async () => {
    await expect(assertPublicDestination("http://[::ffff:127.0.0.1]/hook")).rejects.toThrow(/resolves to ::ffff:7f00:1/);
    await expect(assertPublicDestination("https://[fd00:ec2::254]/")).rejects.toThrow(/fd00:ec2::254/);
  });

  it("accepts a public IP literal without any lookup", async () => {
    await expect(assertPublicDestination("https://93.184.215.14/hook")).resolves.toBeUndefined();
  });
});
