import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/** Thrown when a URL may not be called; `message` says why, never which address a name resolved to. */
export class ForbiddenDestinationError extends Error {
  override name = "ForbiddenDestinationError";
}

/** The addresses a host name resolves to (all of them, in the resolver's order). */
export type ResolveHost = (host: string) => Promise<string[]>;

export const resolveHost: ResolveHost = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

// The well-known NAT64 prefix carries a public IPv4 address on networks that use DNS64; its
// embedded address is judged instead. The local-use prefix 64:ff9b:1::/48 is not unwrapped.
const NAT64_WELL_KNOWN = ipaddr.parseCIDR("64:ff9b::/96");

/**
 * True only for a global unicast address. Everything else — loopback, RFC 1918, CGNAT,
 * link-local and cloud metadata, documentation, multicast, unique local, IPv4-translated
 * (::ffff:0:0:0/96), NAT64 local-use, 6to4, Teredo — is not public. ipaddr.js keeps the
 * IANA special-purpose registries; an IPv4-mapped or well-known-NAT64 address is judged by
 * the IPv4 address inside it.
 */
export function isPublicAddress(text: string): boolean {
  if (!isIP(text.split("%")[0]!)) return false;
  let address = ipaddr.parse(text);
  if (address.kind() === "ipv6") {
    const v6 = address as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) address = v6.toIPv4Address();
    else if (v6.match(NAT64_WELL_KNOWN)) address = ipaddr.fromByteArray(v6.toByteArray().slice(12));
  }
  return address.range() === "unicast";
}

export function isForbiddenAddress(address: string): boolean {
  return !isPublicAddress(address);
}

/** Throws unless every address a host resolved to is public. */
export function assertPublicAddresses(host: string, addresses: readonly string[]): void {
  if (addresses.length === 0) throw new ForbiddenDestinationError(`${host} does not resolve`);
  // The address itself is never said: it would map internal names to internal IPs for any tenant.
  if (!addresses.every(isPublicAddress)) throw new ForbiddenDestinationError(`${host} resolves to a non-public address`);
}

/**
 * Checks what can be checked without DNS: the scheme, and an IP-literal host (which a connect
 * never looks up). Returns the host name still to resolve, or undefined for a literal.
 */
export function assertPublicUrl(rawUrl: string): string | undefined {
  const url = new URL(rawUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ForbiddenDestinationError(`${url.protocol} URLs are not allowed; use http or https`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!isIP(host)) return host;
  if (!isPublicAddress(host)) throw new ForbiddenDestinationError("the URL's host is a non-public address");
  return undefined;
}

/**
 * Throws ForbiddenDestinationError unless the URL is http(s) and its host is, or resolves only
 * to, public addresses. Used at registration; each attempt checks again at connect time
 * (see createPublicOnlyAgent), so a DNS change after registration does not get through.
 */
export async function assertPublicDestination(rawUrl: string, resolve: ResolveHost = resolveHost): Promise<void> {
  const host = assertPublicUrl(rawUrl);
  if (host === undefined) return;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (error) {
    throw new ForbiddenDestinationError(`${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? "DNS error"})`);
  }
  assertPublicAddresses(host, addresses);
}
