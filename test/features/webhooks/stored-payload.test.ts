import { describe, expect, it } from "vitest";
import { packPayload, unpackPayload } from "../../../src/features/webhooks/stored-payload.js";

const stored = (payload_lz4: Buffer) => ({ payload: null, payload_deflated: null, payload_lz4 });

describe("stored payloads", () => {
  it("packs a document as an LZ4 block and reads it back, from its bytes or from its text", () => {
    const text = JSON.stringify({ action: "opened", body: "é ✓ 🎉 ".repeat(500) });
    const fromBytes = packPayload(text, Buffer.from(text, "utf8"));
    expect(fromBytes.length).toBeLessThan(Buffer.byteLength(text) / 4);
    expect(unpackPayload(stored(fromBytes))).toBe(text);
    expect(unpackPayload(stored(packPayload(text)))).toBe(text);
  });

  it("refuses a block that claims more than any payload can hold, before unpacking it", () => {
    expect(() => unpackPayload(stored(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00])))).toThrow(/damaged payload: an LZ4 block of 5 bytes claims 4294967295/);
    expect(() => unpackPayload(stored(Buffer.from([0x01])))).toThrow(/damaged payload/);
  });

  it("refuses a block that holds fewer bytes than it claims", () => {
    // 16 MB claimed, an empty block: LZ4 itself answers with nothing rather than an error.
    expect(() => unpackPayload(stored(Buffer.from([0x00, 0x00, 0x00, 0x01, 0x00])))).toThrow(/claims 16777216 bytes and holds 0/);
  });
});
