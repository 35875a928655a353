// Agents: who holds which task, who is free, how many tasks wait for an engineer.
import { api } from "./api.js";
import { $, h } from "./dom.js";
import { emit, on, state } from "./state.js";

const HOLDING = new Set(["todo", "in_progress", "in_review"]);

export async function loadAgents() {
  const { body: teams } = await api("/teams");
  state.teams = teams;
  const lists = await Promise.all(teams.map((team) => api(`/teams/${team.id}/agents`).then((r) => r.body)));
  state.agents = new Map(lists.flat().map((agent) => [agent.id, agent]));
  emit("agents");
}

export function renderAgents() {
  const tasks = [...state.tasks.values()];
  const waiting = tasks.filter((task) => task.status === "todo" && !task.assignee_id && task.task_type !== "review").length;
  const agents = [...state.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
  const held = (agent) => tasks.filter((task) => task.assignee_id === agent.id && HOLDING.has(task.status)).sort((a, b) => a.id - b.id);
  const free = agents.filter((agent) => agent.status === "available" && held(agent).length === 0);
  $("agents-summary").replaceChildren(
    h("span", { class: "stat" }, h("strong", { "data-testid": "agents-free" }, free.length), " free"),
    h("span", { class: "stat" }, h("strong", { "data-testid": "tasks-waiting" }, waiting), waiting === 1 ? " task waits for an engineer" : " tasks wait for an engineer"),
  );
  $("agents").replaceChildren(
    ...agents.map((agent) => {
      const holding = held(agent);
      const isFree = free.includes(agent);
      return h(
        "li",
        { class: "agent", dataset: { agentId: agent.id } },
        h("div", { class: "agent-name" }, h("strong", {}, agent.name), h("span", { class: "muted small" }, ` ${agent.role}`)),
        h("span", { class: `pill agent-${isFree ? "free" : agent.status}` }, isFree ? "free" : agent.status),
        h(
          "div",
          { class: "agent-tasks small" },
          holding.length
            ? holding.map((task) => h("a", { href: `#task-${task.id}`, title: task.title }, `#${task.id} ${task.status.replace("_", " ")}`))
            : h("span", { class: "muted" }, "holds no task"),
        ),
      );
    }),
  );
  $("agents-empty").hidden = agents.length > 0;
}

on("tasks", renderAgents);
on("agents", renderAgents);
