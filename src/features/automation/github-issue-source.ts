import { z } from "zod";

/** What a task created from a GitHub issue remembers of it (tasks.source). */
export const githubIssueSource = z.object({
  kind: z.literal("github_issue"),
  repository: z.string(),
  issue_number: z.number().int(),
  node_id: z.string().optional(),
  html_url: z.string().optional(),
  installation_id: z.number().int().nullable().optional(),
  webhook_id: z.string().optional(),
  auto_assign: z.boolean().optional(),
  close_issue: z.boolean().optional(),
});
export type GithubIssueSource = z.infer<typeof githubIssueSource>;

/** One task per issue: the key tasks.source_key holds. */
export function issueSourceKey(repository: string, issueNumber: number): string {
  return `github:issue:${repository.toLowerCase()}#${issueNumber}`;
}

