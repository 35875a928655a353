import type { Knex } from "knex";

// Comments on a task: agents' notes (kind "comment") and review comments to address (kind "review",
// with path/line in metadata), kept in one thread so an engineer reads them in order.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("task_comments", (t) => {
    t.bigIncrements("id").primary();
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.integer("task_id").notNullable().references("tasks.id").onDelete("CASCADE");
    t.uuid("author_agent_id").references("agents.id").onDelete("SET NULL");
    t.text("kind").notNullable().defaultTo("comment").checkIn(["comment", "review"]);
    t.text("body").notNullable();
    t.jsonb("metadata").notNullable().defaultTo("{}");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["task_id", "id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("task_comments");
}
