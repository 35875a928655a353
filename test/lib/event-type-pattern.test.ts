import { describe, expect, it } from "vitest";
import { matchesEventType } from "../../src/lib/event-type-pattern.js";

describe("matchesEventType: the one subscription rule", () => {
  it.each([
    [["*"], "task.created", true],
    [["*"], "push", true],
    [["task.created"], "task.created", true],
    [["task.created"], "task.updated", false],
    [["task.*"], "task.status_changed", true],
    [["task.*"], "task", true],
    [["task.*"], "tasks.created", false],
    [["task.*"], "taskforce.created", false],
    [["issues.*"], "issue_comment.created", false],
    [["review.*", "task.created"], "task.created", true],
    [[], "task.created", false],
  ] as const)("%j covers %s: %s", (patterns, type, covered) => {
    expect(matchesEventType(patterns, type)).toBe(covered);
  });
});
