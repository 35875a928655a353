import type { Knex } from "knex";

// Who may act on what (issue 13): an installation belongs to at most one org, linked by proof; the
// instance org administers the instance; a hand-registered webhook acts on the repositories it is
// entitled to (the first one it receives from, when its config names none); and a delivery says
// which door it came through, so the worker trusts an App delivery's installation and nothing else's.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("entourage_instance", (t) => {
    t.integer("id").primary().checkIn(["1"]);
    // The org created on the first start (or by the first bootstrap); ENTOURAGE_INSTANCE_ORG_ID overrides it.
    t.uuid("org_id").references("orgs.id").onDelete("SET NULL");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`INSERT INTO entourage_instance (id, org_id) SELECT 1, id FROM orgs ORDER BY created_at, id LIMIT 1`);

  await knex.schema.alterTable("github_installations", (t) => {
    t.uuid("org_id").references("orgs.id").onDelete("SET NULL");
    t.uuid("team_id").references("teams.id").onDelete("SET NULL");
    t.timestamp("linked_at", { useTz: true });
    t.index(["org_id"]);
  });

  await knex.schema.alterTable("webhooks", (t) => {
    // The first repository a hand-registered webhook received from, when its config names none.
    t.text("first_repository");
  });

  await knex.schema.alterTable("deliveries", (t) => {
    // 'receive': a webhook's own secret signed it; 'app': the GitHub App's, routed by a linked installation.
    t.text("via").notNullable().defaultTo("receive").checkIn(["receive", "app"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deliveries", (t) => t.dropColumn("via"));
  await knex.schema.alterTable("webhooks", (t) => t.dropColumn("first_repository"));
  await knex.schema.alterTable("github_installations", (t) => {
    t.dropIndex(["org_id"]);
    t.dropColumn("linked_at");
    t.dropColumn("team_id");
    t.dropColumn("org_id");
  });
  await knex.schema.dropTableIfExists("entourage_instance");
}
