import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  // Writes to GitHub (comments, issue closes, PR reviews), appended in the transaction that decided
  // them and sent afterwards with retries. dedupe_key makes "post once" a database fact.
  await knex.schema.createTable("github_outbox", (t) => {
    t.bigIncrements("id").primary();
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.text("kind").notNullable().checkIn(["issue_comment", "close_issue", "create_review", "add_labels"]);
    t.text("repository").notNullable();
    t.bigInteger("installation_id");
    t.text("dedupe_key").notNullable().unique();
    t.jsonb("request").notNullable();
    t.integer("task_id");
    t.text("status").notNullable().defaultTo("pending").checkIn(["pending", "sent", "failed", "skipped"]);
    t.integer("attempts").notNullable().defaultTo(0);
    t.timestamp("next_attempt_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("locked_until", { useTz: true });
    t.text("locked_by");
    t.text("last_error");
    t.jsonb("result");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("sent_at", { useTz: true });
    t.index(["task_id"]);
  });
  await knex.raw("CREATE INDEX github_outbox_pending_idx ON github_outbox (next_attempt_at) WHERE status = 'pending'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("github_outbox");
}
