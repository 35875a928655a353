import { z } from "zod";
import { PermanentDeliveryError } from "../webhooks/permanent-delivery-error.js";

const label = z.object({ name: z.string() });
/** A time the rules compare and store (GitHub sends ISO 8601): text no Date can be made of is refused here, not by the database. */
const timestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), "not a date");

export const issuePayload = z.looseObject({
  action: z.string(),
  issue: z.looseObject({
    number: z.number().int(),
    title: z.string(),
    body: z.string().nullable().optional(),
    html_url: z.string(),
    node_id: z.string().optional(),
    state: z.enum(["open", "closed"]),
    state_reason: z.string().nullable().optional(),
    labels: z.array(label).default([]),
    updated_at: timestamp,
    pull_request: z.unknown().optional(),
  }),
  repository: z.looseObject({ full_name: z.string() }),
  installation: z.looseObject({ id: z.number().int() }).optional(),
});
export type IssuePayload = z.infer<typeof issuePayload>;

export const pullRequestPayload = z.looseObject({
  action: z.string(),
  number: z.number().int().optional(),
  pull_request: z.looseObject({
    number: z.number().int(),
    title: z.string(),
    body: z.string().nullable().optional(),
    html_url: z.string(),
    draft: z.boolean().optional(),
    merged: z.boolean().nullable().optional(),
    updated_at: z.string().optional(),
    head: z.looseObject({ ref: z.string(), sha: z.string() }),
    user: z.looseObject({ login: z.string() }).nullable().optional(),
  }),
  repository: z.looseObject({ full_name: z.string() }),
  installation: z.looseObject({ id: z.number().int() }).optional(),
});
export type PullRequestPayload = z.infer<typeof pullRequestPayload>;

/** Parses what a rule needs from a payload; a payload without it can never be processed. */
export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(payload);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => issue.path.join(".")).join(", ");
    throw new PermanentDeliveryError(`the ${what} payload lacks required fields: ${fields}`);
  }
  return result.data;
}
