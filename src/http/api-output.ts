import { z } from "zod";

/**
 * A timestamp of an API answer: a Date in the code, ISO 8601 text on the wire. Output schemas
 * use it so their TypeScript type (z.output) is what services return and their JSON Schema
 * (the input side) is what clients receive.
 */
export const timestamp = z.codec(z.iso.datetime({ offset: true }), z.date(), {
  decode: (text) => new Date(text),
  encode: (date) => date.toISOString(),
});
