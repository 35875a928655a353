import type { Queryable } from "../../db/create-db.js";
import { UnprocessableError } from "../../errors.js";
import { findInstallation, listLinkedRepositoryNames } from "../github/github-installations.store.js";
import type { WebhookConfig } from "./webhooks.schema.js";
import type { WebhookRow } from "./webhooks.store.js";

const HOW_TO_LINK = "the instance org links it with POST /api/v1/github/installations/{id}/link";

/** 422 when the config names an installation linked to another org: naming it proves nothing. */
export async function assertInstallationNotTaken(db: Queryable, orgId: string, config: WebhookConfig): Promise<void> {
  if (!config.installation_id) return;
  const installation = await findInstallation(db, config.installation_id);
  if (installation?.org_id && installation.org_id !== orgId) {
    throw new UnprocessableError(`Installation ${config.installation_id} is linked to another org`, [
      { field: "config.installation_id", message: "this installation is linked to another org; its deliveries cannot be routed here" },
    ]);
  }
}

/**
 * Why a github webhook's config does not route the App's deliveries to it, in words for GET
 * (empty when it does, or names nothing to route). Rows registered before installations were
 * linked keep working for their own secret; this says what the App no longer sends them.
 */
export async function routingWarnings(db: Queryable, webhook: Pick<WebhookRow, "org_id" | "provider" | "config">): Promise<string[]> {
  if (webhook.provider !== "github") return [];
  const warnings: string[] = [];
  const { installation_id: installationId, repositories = [] } = webhook.config;
  if (installationId) {
    const installation = await findInstallation(db, installationId);
    if (!installation?.org_id) {
      warnings.push(`config.installation_id ${installationId} is not linked to this org, so the App's deliveries from it are kept as unrouted (${HOW_TO_LINK})`);
    } else if (installation.org_id !== webhook.org_id) {
      warnings.push(`config.installation_id ${installationId} is linked to another org: the App's deliveries from it are not routed here`);
    }
  }
  if (repositories.length) {
    const covered = await listLinkedRepositoryNames(db, webhook.org_id, repositories);
    const uncovered = repositories.filter((name) => !covered.has(name.toLowerCase()));
    if (uncovered.length) {
      warnings.push(
        `config.repositories ${uncovered.join(", ")}: no installation linked to this org is known to cover ${uncovered.length > 1 ? "them" : "it"}, so the App's deliveries for ${uncovered.length > 1 ? "them" : "it"} are not routed here (deliveries signed with this webhook's secret still are)`,
      );
    }
  }
  return warnings;
}
