import { z } from "zod";
import { TASK_PRIORITIES, TASK_TYPES } from "../tasks/tasks.schema.js";
import { CUSTOM_EVENT_TYPES } from "./webhook-events.js";

const externalId = z.string().trim().min(1).max(200);
const fields = {
  event: z.enum(CUSTOM_EVENT_TYPES).optional(),
  external_id: externalId,
  description: z.string().max(100_000).optional(),
  priority: z.enum(TASK_PRIORITIES).optional(),
  task_type: z.enum(TASK_TYPES).optional(),
  tags: z.array(z.string().trim().min(1).max(200)).max(100).optional(),
  url: z.url().optional(),
};

/** Custom senders' documents, one schema per event type (README "Custom senders"). */
export const customPayloadSchemas = {
  "task.create": z.looseObject({ ...fields, title: z.string().trim().min(1).max(500) }),
  "task.update": z.looseObject({ ...fields, title: z.string().trim().min(1).max(500).optional() }),
  "task.close": z.looseObject({ ...fields, resolution: z.enum(["done", "cancelled"]).default("done") }),
} as const;

export type CustomEventType = keyof typeof customPayloadSchemas;
