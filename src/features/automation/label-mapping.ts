import type { TaskPriority, TaskType } from "../tasks/tasks.schema.js";

const PRIORITY_LABELS: [TaskPriority, string[]][] = [
  ["critical", ["critical", "urgent", "p0"]],
  ["high", ["high", "important", "p1"]],
  ["low", ["low", "minor", "p3"]],
];

const TYPE_LABELS: [TaskType, string[]][] = [
  ["bugfix", ["bug"]],
  ["feature", ["enhancement", "feature"]],
  ["docs", ["documentation", "docs"]],
];

/** Words of a label: "priority: high" and "P1" both count. */
function words(label: string): string[] {
  return label.toLowerCase().split(/[\s:/_-]+/).filter(Boolean);
}

/** The highest priority any label names; medium when none does. */
export function priorityFromLabels(labels: string[]): TaskPriority {
  const all = new Set(labels.flatMap(words));
  return PRIORITY_LABELS.find(([, names]) => names.some((name) => all.has(name)))?.[0] ?? "medium";
}

/** The task type a label names, else the webhook's default. */
export function taskTypeFromLabels(labels: string[], fallback: TaskType): TaskType {
  const all = new Set(labels.flatMap(words));
  return TYPE_LABELS.find(([, names]) => names.some((name) => all.has(name)))?.[0] ?? fallback;
}
