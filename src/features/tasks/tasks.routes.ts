import { Router } from "express";
import { z } from "zod";
import type { AppContext } from "../../app-context.js";
import { decodeCursor, takePage } from "../../http/pagination.js";
import { intParam, parseInput } from "../../http/parse-input.js";
import { requestAuth } from "../../http/request-auth.js";
import { createSubtasks } from "./subtasks.service.js";
import { addTaskComment } from "./task-comments.service.js";
import { listTaskComments } from "./task-comments.store.js";
import { createSubtasksBody, createTaskBody, createTaskCommentBody, listTaskCommentsQuery, listTasksQuery, updateTaskBody } from "./tasks.schema.js";
import { createTask, getTask, getTaskDetail, patchTask } from "./tasks.service.js";
import { listTasks } from "./tasks.store.js";

const cursorSchema = z.object({ id: z.number().int().positive() });

export function createTasksRouter(ctx: AppContext): Router {
  const router = Router();

  router.get("/tasks", async (req, res) => {
    const query = parseInput(listTasksQuery, req.query);
    const after = decodeCursor(query.cursor, cursorSchema);
    const tasks = await listTasks(ctx.knex, {
      org_id: requestAuth(req).orgId,
      team_id: query.team_id,
      status: query.status,
      assignee_id: query.assignee_id,
      tag: query.tag,
      parent_id: query.parent_id,
      before_id: after?.id,
      limit: query.limit + 1,
    });
    res.json(takePage(req, res, ctx.config.PUBLIC_URL, tasks, query.limit, (last) => ({ id: last.id })));
  });

  router.post("/tasks", async (req, res) => {
    const body = parseInput(createTaskBody, req.body);
    const orgId = requestAuth(req).orgId;
    const task = await ctx.knex.transaction((trx) => createTask(trx, orgId, body));
    res.status(201).json(task);
  });

  router.get("/tasks/:id", async (req, res) => {
    res.json(await getTaskDetail(ctx.knex, requestAuth(req).orgId, intParam(req.params.id, "Task")));
  });

  router.patch("/tasks/:id", async (req, res) => {
    const id = intParam(req.params.id, "Task");
    const body = parseInput(updateTaskBody, req.body);
    res.json(await patchTask(ctx.knex, requestAuth(req).orgId, id, body));
  });

  router.post("/tasks/:id/subtasks", async (req, res) => {
    const id = intParam(req.params.id, "Task");
    const body = parseInput(createSubtasksBody, req.body);
    const orgId = requestAuth(req).orgId;
    res.status(201).json(await ctx.knex.transaction((trx) => createSubtasks(trx, orgId, id, body.subtasks)));
  });

  router.get("/tasks/:id/comments", async (req, res) => {
    const id = intParam(req.params.id, "Task");
    const query = parseInput(listTaskCommentsQuery, req.query);
    const after = decodeCursor(query.cursor, cursorSchema);
    const orgId = requestAuth(req).orgId;
    await getTask(ctx.knex, orgId, id);
    const comments = await listTaskComments(ctx.knex, { org_id: orgId, task_id: id, kind: query.kind, after_id: after?.id, limit: query.limit + 1 });
    res.json(takePage(req, res, ctx.config.PUBLIC_URL, comments, query.limit, (last) => ({ id: last.id })));
  });

  router.post("/tasks/:id/comments", async (req, res) => {
    const id = intParam(req.params.id, "Task");
    const body = parseInput(createTaskCommentBody, req.body);
    const orgId = requestAuth(req).orgId;
    const comment = await ctx.knex.transaction(async (trx) => addTaskComment(trx, await getTask(trx, orgId, id), body));
    res.status(201).json(comment);
  });

  return router;
}
