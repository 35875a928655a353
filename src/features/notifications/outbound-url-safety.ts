import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

// Addresses an outbound notification must never reach: they point back into our own network
// (loopback, RFC 1918, CGNAT, link-local, cloud metadata at 169.254.169.254 / fd00:ec2::254)
// or are not unicast destinations at all. https://www.iana.org/assignments/iana-ipv4-special-registry
const FORBIDDEN = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", includes the unspecified 0.0.0.0
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT (and Alibaba's metadata 100.100.100.200)
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved and broadcast
] as const) {
  FORBIDDEN.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 96], // unspecified, loopback and the deprecated IPv4-compatible block
  ["100::", 64], // discard
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique local (includes AWS metadata fd00:ec2::254)
  ["fe80::", 10], // link-local
  ["fec0::", 10], // old site-local
  ["ff00::", 8], // multicast
] as const) {
  FORBIDDEN.addSubnet(network, prefix, "ipv6");
}

/** Thrown when a URL may not be called; `message` says why and how to allow it. */
export class ForbiddenDestinationError extends Error {
  override name = "ForbiddenDestinationError";
}

/** True when an IP literal is loopback, private, link-local, metadata, unspecified or otherwise not public. */
export function isForbiddenAddress(address: string): boolean {
  const version = isIP(address);
  if (version === 4) return FORBIDDEN.check(address, "ipv4");
  if (version !== 6) return true;
  const embedded = embeddedIpv4(address);
  if (embedded) return FORBIDDEN.check(embedded, "ipv4");
  return FORBIDDEN.check(address, "ipv6");
}

/**
 * Resolves the URL's host and throws ForbiddenDestinationError when any address it resolves to
 * is forbidden (checked at registration and again before every attempt, so DNS changes count).
 */
export async function assertPublicDestination(rawUrl: string): Promise<void> {
  const url = new URL(rawUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ForbiddenDestinationError(`${url.protocol} URLs are not allowed; use http or https`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
    } catch (error) {
      throw new ForbiddenDestinationError(`${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? "DNS error"})`);
    }
  }
  const forbidden = addresses.find(isForbiddenAddress);
  if (forbidden) {
    throw new ForbiddenDestinationError(
      `${host} resolves to ${forbidden}, a loopback, private, link-local or metadata address; set ALLOW_PRIVATE_OUTBOUND=true to allow it`,
    );
  }
}

// IPv4 hidden in IPv6: mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d), in dotted or hex form.
function embeddedIpv4(address: string): string | undefined {
  const groups = expandIpv6(address);
  if (!groups) return undefined;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  if (!mapped && !nat64) return undefined;
  const [hi, lo] = [groups[6]!, groups[7]!];
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join(".");
}

function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase().split("%")[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const bytes = dotted[1]!.split(".").map(Number);
    text = text.slice(0, -dotted[1]!.length) + `${((bytes[0]! << 8) | bytes[1]!).toString(16)}:${((bytes[2]! << 8) | bytes[3]!).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const parse = (part: string) => (part ? part.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  const groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}
