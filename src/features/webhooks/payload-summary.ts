interface Item {
  title?: unknown;
  number?: unknown;
  html_url?: unknown;
}

/** A small digest of a payload for delivery lists: action, and title/number/URL of the issue or pull request. */
export function payloadSummary(payload: Record<string, unknown>): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  if (typeof payload.action === "string") summary.action = payload.action;
  for (const key of ["issue", "pull_request"] as const) {
    const item = payload[key] as Item | undefined;
    if (item && typeof item === "object") {
      summary[key] = pickDefined({ title: clip(item.title), number: scalar(item.number), url: scalar(item.html_url) });
    }
  }
  const repository = (payload.repository as { full_name?: unknown } | undefined)?.full_name;
  if (typeof repository === "string") summary.repository = repository;
  // Custom senders' documents.
  for (const key of ["external_id", "title"] as const) {
    if (typeof payload[key] === "string" && !summary.issue) summary[key] = clip(payload[key]);
  }
  return summary;
}

function clip(value: unknown): unknown {
  return typeof value === "string" && value.length > 200 ? `${value.slice(0, 199)}…` : scalar(value);
}

/** Only scalars reach the summary: an object in their place (of any depth) is left out. */
function scalar(value: unknown): unknown {
  return value !== null && typeof value === "object" ? undefined : value;
}

function pickDefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
