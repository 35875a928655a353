import { UnprocessableError } from "../../errors.js";
import type { PullRequestFile } from "./pull-request-files-source.js";
import type { ReviewComment, ReviewCommentInput } from "./reviews.schema.js";

/**
 * Checks each comment against the pull request: `path` must be a changed file, `line` (and
 * `start_line`, before `line`) positive integers. The first bad comment is a 422 naming it.
 */
export function validateReviewComments(comments: ReviewCommentInput[], files: PullRequestFile[], pullNumber: number): ReviewComment[] {
  const changed = new Set(files.map((file) => file.filename));
  return comments.map((comment, i) => {
    const field = `comments[${i}]`;
    if (!changed.has(comment.path)) {
      reject(field, "path", `${field}: ${comment.path} is not a file changed by pull request #${pullNumber}`);
    }
    if (!isPositiveInteger(comment.line)) {
      reject(field, "line", `${field} (${comment.path}): line must be a positive integer, got ${comment.line}`);
    }
    if (comment.start_line !== undefined && (!isPositiveInteger(comment.start_line) || comment.start_line >= comment.line)) {
      reject(field, "start_line", `${field} (${comment.path}): start_line must be a positive integer below line ${comment.line}, got ${comment.start_line}`);
    }
    return {
      path: comment.path,
      line: comment.line,
      ...(comment.side ? { side: comment.side } : {}),
      ...(comment.start_line !== undefined ? { start_line: comment.start_line } : {}),
      body: comment.body,
    };
  });
}

function isPositiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

function reject(field: string, key: string, message: string): never {
  throw new UnprocessableError(message, [{ field: `${field}.${key}`, message }]);
}
