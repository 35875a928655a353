// The task board: columns by status, cards with assignee, sub-task progress and GitHub link.
import { api, nextPath } from "./api.js";
import { $, h, safeUrl } from "./dom.js";
import { emit, state } from "./state.js";

const STATUSES = [
  ["todo", "To do"],
  ["in_progress", "In progress"],
  ["in_review", "In review"],
  ["done", "Done"],
  ["cancelled", "Cancelled"],
];

export async function loadTasks() {
  const loaded = [];
  let path = "/tasks?limit=200";
  for (let page = 0; page < 5 && path; page++) {
    const { body, link } = await api(path);
    loaded.push(...body);
    path = nextPath(link);
  }
  for (const task of loaded) upsertTask(task, { quiet: true });
  renderBoard();
  emit("tasks");
}

export function upsertTask(task, options = {}) {
  const known = state.tasks.get(task.id);
  // Snapshots can arrive out of order (stream vs. initial load): keep the newest.
  if (known && new Date(known.updated_at) > new Date(task.updated_at)) return;
  state.tasks.set(task.id, task);
  if (options.quiet) return;
  state.flash.add(task.id);
  renderBoard();
  emit("tasks");
}

export function renderBoard() {
  const tasks = [...state.tasks.values()];
  const children = new Map();
  for (const task of tasks) {
    if (!task.parent_id) continue;
    children.set(task.parent_id, [...(children.get(task.parent_id) ?? []), task]);
  }
  $("board").replaceChildren(
    ...STATUSES.map(([status, label]) => {
      const inColumn = tasks.filter((task) => task.status === status).sort((a, b) => b.id - a.id);
      return h(
        "div",
        { class: "column", dataset: { status }, "data-testid": `column-${status}` },
        h("h3", { class: "column-head" }, label, h("span", { class: "count" }, inColumn.length)),
        h("div", { class: "cards" }, inColumn.length ? inColumn.map((task) => taskCard(task, children.get(task.id) ?? [])) : h("div", { class: "column-empty" }, "Nothing here")),
      );
    }),
  );
  state.flash.clear();

  const open = tasks.filter((task) => task.status === "todo" || task.status === "in_progress").length;
  const review = tasks.filter((task) => task.status === "in_review").length;
  const unassigned = tasks.filter((task) => !task.assignee_id && task.status === "todo").length;
  $("task-stats").replaceChildren(
    h("span", { class: "stat" }, h("strong", {}, open), " open"),
    h("span", { class: "stat" }, h("strong", {}, review), " in review"),
    h("span", { class: "stat" }, h("strong", {}, unassigned), " waiting for an agent"),
  );
  const empty = $("board-empty");
  empty.hidden = tasks.length > 0;
  if (!tasks.length) {
    empty.replaceChildren(
      h("strong", {}, "No tasks yet."),
      "Open an issue on a repository whose webhook points here and a task appears on its own, or create one: ",
      h("code", {}, 'POST /api/v1/tasks {"team_id": …, "title": …}'),
    );
  }
}

function taskCard(task, subtasks) {
  const agent = task.assignee_id ? state.agents.get(task.assignee_id) : undefined;
  const assigneeName = task.assignee_id ? (agent?.name ?? "agent") : "Unassigned";
  const github = safeUrl(task.source?.html_url);
  const repoLabel = task.source?.repository && task.source?.number ? `${task.source.repository}#${task.source.number}` : "GitHub";
  const done = subtasks.filter((sub) => sub.status === "done").length;
  return h(
    "article",
    { class: `task${state.flash.has(task.id) ? " flash" : ""}`, id: `task-${task.id}`, tabindex: "-1", dataset: { taskId: task.id }, "data-testid": `task-${task.id}` },
    h(
      "div",
      { class: "task-top" },
      h("span", { class: "task-id" }, `#${task.id}`),
      h("span", { class: `pill priority-${task.priority}` }, task.priority),
      h("span", {}, task.task_type),
      task.parent_id ? h("span", {}, `↳ #${task.parent_id}`) : null,
    ),
    h("div", { class: "task-title" }, task.title),
    subtasks.length
      ? h(
          "div",
          { class: "progress" },
          `${done}/${subtasks.length} sub-tasks done`,
          h("div", { class: "progress-bar" }, h("span", { style: `width: ${Math.round((done / subtasks.length) * 100)}%` })),
        )
      : null,
    task.tags?.length ? h("div", { class: "tags" }, task.tags.slice(0, 4).map((tag) => h("span", { class: "tag" }, tag))) : null,
    h(
      "div",
      { class: "task-meta" },
      h("span", { class: "assignee" }, h("span", { class: `avatar${agent ? "" : " none"}`, "aria-hidden": "true" }, agent ? initials(agent.name) : "?"), assigneeName),
      github ? h("a", { href: github, target: "_blank", rel: "noopener noreferrer" }, repoLabel, " ↗") : null,
    ),
  );
}

function initials(name) {
  return name.replace(/[^a-z0-9]/gi, " ").trim().split(/\s+/).map((part) => part[0]).join("").slice(0, 2).toUpperCase();
}
