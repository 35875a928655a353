import type { z } from "zod";
import type { reviewDetailOutput, reviewOutput, VerdictBody } from "../reviews/reviews.schema.js";
import type { taskCommentOutput, taskDetailOutput, taskOutput, TaskPriority, TaskStatus, TaskType } from "../tasks/tasks.schema.js";

/** A task as the REST API answers it: the wire side (timestamps as ISO text) of its output schema. */
export type ApiTask = z.input<typeof taskOutput>;
export type ApiTaskDetail = z.input<typeof taskDetailOutput>;
export type ApiTaskComment = z.input<typeof taskCommentOutput>;

export interface NewSubtask {
  title: string;
  description?: string;
  priority?: TaskPriority;
  task_type?: TaskType;
  depends_on?: number[];
}

/** A review as the REST API answers it (with files from GET /reviews/{id}; with `github` after a verdict). */
export type ApiReview = z.input<typeof reviewOutput> & Partial<Pick<z.input<typeof reviewDetailOutput>, "files" | "files_error">>;

/** The verdict body as POST /reviews/{id}/verdict takes it. */
export type ReviewVerdict = VerdictBody;

/** An error answer of the API (`{"error":{"code","message","details"}}`), or no answer at all (status 0). */
export class EntourageApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "EntourageApiError";
  }
}

export interface EntourageApiOptions {
  /** e.g. http://localhost:8000 (a path prefix is kept). */
  baseUrl: string;
  /** Credentials to send: `X-API-Key` or `Authorization`. */
  headers: Record<string, string>;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A small typed client for the Entourage REST API (/api/v1), used by the MCP tools. */
export function createEntourageApiClient(options: EntourageApiOptions) {
  const base = options.baseUrl.replace(/\/+$/, "");

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${base}/api/v1${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }), ...options.headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new EntourageApiError(0, "unreachable", `Cannot reach Entourage at ${base} (${reason}); check ENTOURAGE_URL and that the server is running`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new EntourageApiError(
        response.status,
        error?.code ?? "http_error",
        error?.message ?? `${method} ${path} answered HTTP ${response.status}`,
        error?.details,
      );
    }
    return parsed as T;
  }

  const query = (params: Record<string, string | number | undefined>) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
    const text = search.toString();
    return text ? `?${text}` : "";
  };

  return {
    listTasks: (filter: { assignee_id?: string; status?: TaskStatus; parent_id?: number; limit?: number }) =>
      call<ApiTask[]>("GET", `/tasks${query(filter)}`),
    getTask: (id: number) => call<ApiTaskDetail>("GET", `/tasks/${id}`),
    updateTask: (id: number, changes: { status?: TaskStatus; assignee_id?: string | null }) => call<ApiTask>("PATCH", `/tasks/${id}`, changes),
    createSubtasks: (id: number, subtasks: NewSubtask[]) => call<ApiTask[]>("POST", `/tasks/${id}/subtasks`, { subtasks }),
    listTaskComments: (id: number, limit = 200) => call<ApiTaskComment[]>("GET", `/tasks/${id}/comments${query({ limit })}`),
    addTaskComment: (id: number, comment: { body: string; author_agent_id?: string }) =>
      call<ApiTaskComment>("POST", `/tasks/${id}/comments`, comment),
    listReviews: (filter: { status?: string; assignee?: string }) => call<ApiReview[]>("GET", `/reviews${query(filter)}`),
    getReview: (id: string) => call<ApiReview>("GET", `/reviews/${encodeURIComponent(id)}`),
    submitReviewVerdict: (id: string, verdict: ReviewVerdict) => call<ApiReview>("POST", `/reviews/${encodeURIComponent(id)}/verdict`, verdict),
  };
}

export type EntourageApi = ReturnType<typeof createEntourageApiClient>;
