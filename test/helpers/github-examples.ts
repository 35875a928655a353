import { createRequire } from "node:module";

type Example = Record<string, any>;
const require = createRequire(import.meta.url);
const all = require("@octokit/webhooks-examples") as { name: string; examples: Example[] }[];

/** A deep copy of a real GitHub payload from @octokit/webhooks-examples (the nth with that action). */
export function githubExample(event: string, action?: string, nth = 0): Example {
  const group = all.find((entry) => entry.name === event);
  if (!group) throw new Error(`no examples for ${event}`);
  const matches = action ? group.examples.filter((example) => example.action === action) : group.examples;
  const example = matches[nth];
  if (!example) throw new Error(`no ${event}.${action ?? ""} example #${nth}`);
  return structuredClone(example);
}
