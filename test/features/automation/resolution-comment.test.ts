import { describe, expect, it } from "vitest";
import { resolutionComment } from "../../../src/features/automation/announce-resolution.js";
import { formatTaskRanges } from "../../../src/features/automation/format-task-ranges.js";

describe("resolution comment", () => {
  it("writes consecutive sub-task ids as ranges", () => {
    expect(resolutionComment(600, [601, 602, 603])).toBe("Resolved in tasks #601-#603");
    expect(formatTaskRanges([607, 601, 603, 602, 609, 608])).toBe("#601-#603, #607-#609");
  });

  it("names the task alone when it had no sub-tasks", () => {
    expect(resolutionComment(601, [])).toBe("Resolved in task #601");
  });
});
