export interface TaskLinks {
  /** Issues the PR closes or names in its branch: owner/repo and number. */
  issues: { repository: string; number: number }[];
  /** Task ids named directly (`Entourage-Task: #601`, branch `task-601`). */
  taskIds: number[];
}

const CLOSING = /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b:?\s+([\w.-]+\/[\w.-]+)?#(\d+)\b/gi;
const TASK_TRAILER = /\bEntourage-Task:\s*((?:#?\d+[\s,]*)+)/gi;
const BRANCH_TASK = /(?:^|[/_.-])task-(\d+)(?=$|[/_.-])/gi;
const BRANCH_ISSUE = /(?:^|[/_.-])issue-(\d+)(?=$|[/_.-])/gi;

/**
 * The work a pull request says it does: closing keywords in title or body (`fixes #42`,
 * `closes owner/repo#42`), task trailers (`Entourage-Task: #601`), and branch names
 * (`task-601`, `issue-42-dark-mode`).
 */
export function parseTaskLinks(pr: { title?: string | null; body?: string | null; branch?: string | null }, repository: string): TaskLinks {
  const text = `${pr.title ?? ""}\n${pr.body ?? ""}`;
  const issues = new Map<string, { repository: string; number: number }>();
  const addIssue = (repo: string, number: number) => issues.set(`${repo.toLowerCase()}#${number}`, { repository: repo, number });
  const taskIds = new Set<number>();

  for (const match of text.matchAll(CLOSING)) addIssue(match[1] ?? repository, Number(match[2]));
  for (const match of text.matchAll(TASK_TRAILER)) {
    for (const id of match[1]!.matchAll(/\d+/g)) taskIds.add(Number(id[0]));
  }
  const branch = pr.branch ?? "";
  for (const match of branch.matchAll(BRANCH_TASK)) taskIds.add(Number(match[1]));
  for (const match of branch.matchAll(BRANCH_ISSUE)) addIssue(repository, Number(match[1]));

  return { issues: [...issues.values()], taskIds: [...taskIds].filter((id) => id > 0 && id <= 2_147_483_647) };
}
