import { z } from "zod";

/** Every 4xx/5xx answer of the API (the error middleware and the receive path write this shape). */
export const errorResponseSchema = z.object({
  error: z.object({
    code: z.string().meta({ description: "Stable machine-readable code, e.g. validation_failed, unauthorized, not_found" }),
    message: z.string().meta({ description: "What went wrong and, where possible, what to do" }),
    details: z.unknown().optional().meta({ description: "For validation_failed: one { field, message } per bad field" }),
  }),
});
