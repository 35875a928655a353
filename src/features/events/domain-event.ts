/** Shared event shapes: a leaf, so stores and the outbox hook can both use them without importing each other. */

export interface DomainEventInput {
  org_id: string;
  team_id?: string | null;
  type: string;
  data: Record<string, unknown>;
}

export interface DomainEvent {
  id: number;
  org_id: string;
  team_id: string | null;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
}
