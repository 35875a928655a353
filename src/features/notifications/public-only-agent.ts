import { isIP, type LookupFunction } from "node:net";
import { Agent } from "undici";
import { assertPublicAddresses, resolveHost, type ResolveHost } from "./outbound-url-safety.js";

/**
 * An undici Agent that resolves each host once, at connect time, refuses the connection unless
 * every address is public, and connects to exactly the addresses it checked. Checking first and
 * letting `fetch` resolve again would let DNS rebinding reach loopback.
 */
export function createPublicOnlyAgent(resolve: ResolveHost = resolveHost): Agent {
  const lookup: LookupFunction = (hostname, options, callback) => {
    resolve(hostname)
      .then((resolved) => {
        assertPublicAddresses(hostname, resolved);
        const family = options.family === "IPv4" ? 4 : options.family === "IPv6" ? 6 : options.family;
        const usable = resolved.filter((address) => !family || isIP(address) === family);
        if (usable.length === 0) throw Object.assign(new Error(`${hostname} has no IPv${family} address`), { code: "ENOTFOUND" });
        if (options.all) callback(null, usable.map((address) => ({ address, family: isIP(address) })));
        else callback(null, usable[0]!, isIP(usable[0]!));
      })
      .catch((error: NodeJS.ErrnoException) => callback(error, "", 0));
  };
  return new Agent({ connect: { lookup } });
}
