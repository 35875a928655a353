import { describe, expect, it } from "vitest";
import { storableJson } from "../../src/lib/storable-text.js";

describe("storableJson", () => {
  it("copies a document 100,000 levels deep, cleaning strings at the bottom", () => {
    const depth = 100_000;
    const doc = JSON.parse(`${'{"a\\u0000":['.repeat(depth)}"x\\u0000"${"]}".repeat(depth)}`);
    let item: any = storableJson(doc);
    for (let level = 0; level < depth; level++) item = item["a\uFFFD"][0];
    expect(item).toBe("x\uFFFD");
  });

  it("keeps key order, arrays and scalars as they were", () => {
    const doc = { z: 1, a: [true, null, "\ud800", { m: "n", b: 2 }], m: { y: "\u0000" } };
    const copy = storableJson(doc);
    expect(JSON.stringify(copy)).toBe('{"z":1,"a":[true,null,"\uFFFD",{"m":"n","b":2}],"m":{"y":"\uFFFD"}}');
    expect(doc.m.y).toBe("\u0000");
  });
});
