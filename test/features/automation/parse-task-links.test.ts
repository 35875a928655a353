import { describe, expect, it } from "vitest";
import { parseTaskLinks } from "../../../src/features/automation/parse-task-links.js";

describe("parseTaskLinks", () => {
  it("keeps only task ids a tasks row can have (1 … 2^31 - 1)", () => {
    const links = parseTaskLinks({ body: "Entourage-Task: #0, #601, #2147483647, #2147483648" }, "octo/repo");
    expect(links.taskIds).toEqual([601, 2_147_483_647]);
  });

  it("names each issue once, from closing keywords and the branch, in the PR's repository unless another is named", () => {
    const links = parseTaskLinks({ title: "Fixes #42", body: "closes other/repo#7\nresolves #42", branch: "issue-42-dark-mode" }, "octo/repo");
    expect(links.issues).toEqual([
      { repository: "octo/repo", number: 42 },
      { repository: "other/repo", number: 7 },
    ]);
    expect(links.taskIds).toEqual([]);
  });
});
