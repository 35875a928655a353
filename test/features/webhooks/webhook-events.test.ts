import { describe, expect, it } from "vitest";
import { githubEventType, isSubscribed, validSubscriptions } from "../../../src/features/webhooks/webhook-events.js";
import { githubExample } from "../../helpers/github-examples.js";

describe("GitHub event types", () => {
  it("joins the header's event and the payload's action; a merged close alone is pull_request.merged", () => {
    const merged = githubExample("pull_request", "closed");
    merged.pull_request.merged = true;
    const unmerged = githubExample("pull_request", "closed");
    unmerged.pull_request.merged = false;
    const cases: [string, Record<string, unknown>, string][] = [
      ["pull_request", merged, "pull_request.merged"],
      ["pull_request", unmerged, "pull_request.closed"],
      // Only a close is a merge, only of a pull request, and only when merged is exactly true.
      ["pull_request", { ...merged, action: "edited" }, "pull_request.edited"],
      ["issues", { action: "closed", pull_request: { merged: true } }, "issues.closed"],
      ["pull_request", { action: "closed", pull_request: { merged: "true" } }, "pull_request.closed"],
      ["pull_request", { action: "closed" }, "pull_request.closed"],
      ["issues", githubExample("issues", "opened"), "issues.opened"],
      // No action (push, ping), or one that is not text: the event name alone.
      ["push", { ref: "refs/heads/main" }, "push"],
      ["ping", { action: 3 }, "ping"],
    ];
    for (const [eventName, payload, expected] of cases) expect(githubEventType(eventName, payload), `${eventName} ${JSON.stringify(payload.action)}`).toBe(expected);
  });

  it("counts a pull_request.closed subscription as one to merges too, and nothing else as more than it says", () => {
    expect(isSubscribed(["pull_request.closed"], "pull_request.merged")).toBe(true);
    expect(isSubscribed(["pull_request.closed"], "pull_request.closed")).toBe(true);
    expect(isSubscribed(["pull_request.opened"], "pull_request.merged")).toBe(false);
    expect(isSubscribed(["issues.closed"], "pull_request.merged")).toBe(false);
    expect(isSubscribed(["pull_request.*"], "pull_request.merged")).toBe(true);
    expect(isSubscribed(["*"], "ping")).toBe(true);
  });

  it("accepts for each provider its own types, one wildcard per prefix (each once), and *", () => {
    const custom = validSubscriptions("custom");
    expect(custom).toEqual(["*", "task.*", "task.create", "task.update", "task.close"]);
    const github = validSubscriptions("github");
    expect(github.slice(0, 1)).toEqual(["*"]);
    expect(github).toContain("pull_request.*");
    expect(github).toContain("pull_request.merged");
    expect(github).not.toContain("task.*");
    expect(new Set(github).size).toBe(github.length);
    // A wildcard is a prefix of a dotted type, never a type without a dot.
    expect(github.filter((type) => type.endsWith(".*")).every((wildcard) => github.some((type) => type.startsWith(wildcard.slice(0, -1)) && !type.endsWith("*")))).toBe(true);
  });
});
