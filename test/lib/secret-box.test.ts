import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openSecret, sealSecret } from "../../src/lib/secret-box.js";

describe("secret box", () => {
  const key = randomBytes(32);

  it("round-trips and never contains the plaintext", () => {
    const sealed = sealSecret(key, "whsec_topsecret");
    expect(sealed).not.toContain("topsecret");
    expect(openSecret(key, sealed)).toBe("whsec_topsecret");
  });

  it("refuses the wrong key and altered ciphertext", () => {
    const sealed = sealSecret(key, "whsec_topsecret");
    expect(() => openSecret(randomBytes(32), sealed)).toThrow();
    const parts = sealed.split(".");
    parts[3] = Buffer.from("whsec_topsecreT").toString("base64url");
    expect(() => openSecret(key, parts.join("."))).toThrow();
  });
});
