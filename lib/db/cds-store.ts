/**
 * Persistence of the CDS service (tables cds_jti, cds_cards, cds_feedback, audit_events) over plain pg: the hook path
 * is latency-bound, so each function is one round trip. Nothing here holds PHI: card uuids, rule ids, indicators,
 * client issuers, override codes and counts.
 */
import type pg from "pg";
import { tryRecordAudit } from "../audit/audit";

/** Clock skew kept on top of a jti's expiry before it is purged (the verifier tolerates that much on exp). */
const JTI_PURGE_GRACE = "5 minutes";

/**
 * Records a JWT id until it expires; true when it was new, false when the same issuer used it before (a replay).
 * A few expired ids are purged in the same statement, so the table stays the size of the tokens in flight.
 */
export async function rememberJti(pool: pg.Pool, iss: string, jti: string, expiresAt: Date): Promise<boolean> {
  const { rows } = await pool.query<{ fresh: number }>(
    `with purged as (
       delete from cds_jti where (iss, jti) in (
         select iss, jti from cds_jti where expires_at < now() - interval '${JTI_PURGE_GRACE}' limit 100
       )
     )
     insert into cds_jti (iss, jti, expires_at) values ($1, $2, $3)
     on conflict (iss, jti) do nothing
     returning 1 as fresh`,
    [iss, jti, expiresAt],
  );
  return rows.length === 1;
}

export interface IssuedCardRow {
  uuid: string;
  serviceId: string;
  /** Rule ids the card speaks for, primary first. */
  ruleIds: string[];
  indicator: string;
  /** The CDS client (JWT iss) that asked. */
  client: string;
}

/** Stores the cards one hook call returned (one statement for all of them). */
export async function storeIssuedCards(pool: pg.Pool, cards: readonly IssuedCardRow[]): Promise<void> {
  if (cards.length === 0) return;
  await pool.query(
    `insert into cds_cards (uuid, service_id, rule_ids, indicator, client)
     select c.uuid, c.service_id, array(select jsonb_array_elements_text(c.rule_ids)), c.indicator, c.client
     from jsonb_to_recordset($1::jsonb) as c(uuid text, service_id text, rule_ids jsonb, indicator text, client text)
     on conflict (uuid) do nothing`,
    [JSON.stringify(cards.map((c) => ({ uuid: c.uuid, service_id: c.serviceId, rule_ids: c.ruleIds, indicator: c.indicator, client: c.client })))],
  );
}

export interface IssuedCard {
  uuid: string;
  serviceId: string;
  ruleIds: string[];
  client: string;
}

/** The stored cards among `uuids` (unknown ones are absent from the map). */
export async function issuedCards(pool: pg.Pool, uuids: readonly string[]): Promise<Map<string, IssuedCard>> {
  if (uuids.length === 0) return new Map();
  const { rows } = await pool.query<{ uuid: string; service_id: string; rule_ids: string[]; client: string }>(
    `select uuid, service_id, rule_ids, client from cds_cards where uuid = any($1::text[])`,
    [[...new Set(uuids)]],
  );
  return new Map(rows.map((r) => [r.uuid, { uuid: r.uuid, serviceId: r.service_id, ruleIds: r.rule_ids, client: r.client }]));
}

export interface FeedbackRow {
  cardUuid: string;
  serviceId: string;
  /** The card's primary rule id, or null when the card is not one this service issued to this client. */
  ruleId: string | null;
  outcome: "accepted" | "overridden";
  overrideCode: string | null;
  overrideDisplay: string | null;
  acceptedSuggestions: string[];
  outcomeTimestamp: Date;
  client: string;
}

/**
 * Stores feedback entries; an entry the client sends again (same card, outcome, timestamp and client: a retried POST)
 * is stored once. Returns how many rows were new.
 */
export async function storeFeedback(pool: pg.Pool, entries: readonly FeedbackRow[]): Promise<number> {
  if (entries.length === 0) return 0;
  const { rowCount } = await pool.query(
    `insert into cds_feedback (card_uuid, service_id, rule_id, outcome, override_code, override_display, accepted_suggestions, outcome_timestamp, client)
     select distinct on (f.card_uuid, f.outcome, f.outcome_timestamp)
            f.card_uuid, f.service_id, f.rule_id, f.outcome, f.override_code, f.override_display,
            array(select jsonb_array_elements_text(f.accepted_suggestions)), f.outcome_timestamp, f.client
     from jsonb_to_recordset($1::jsonb) as f(card_uuid text, service_id text, rule_id text, outcome text, override_code text,
                                             override_display text, accepted_suggestions jsonb, outcome_timestamp timestamptz, client text)
     where not exists (
       select 1 from cds_feedback e
       where e.card_uuid = f.card_uuid and e.outcome = f.outcome and e.outcome_timestamp = f.outcome_timestamp and e.client = f.client
     )`,
    [
      JSON.stringify(
        entries.map((e) => ({
          card_uuid: e.cardUuid,
          service_id: e.serviceId,
          rule_id: e.ruleId,
          outcome: e.outcome,
          override_code: e.overrideCode,
          override_display: e.overrideDisplay,
          accepted_suggestions: e.acceptedSuggestions,
          outcome_timestamp: e.outcomeTimestamp.toISOString(),
          client: e.client,
        })),
      ),
    ],
  );
  return rowCount ?? 0;
}

export interface CdsAuditEntry {
  /** The CDS client's iss, or "unauthenticated". */
  actor: string;
  action: string;
  outcome: "success" | "refused" | "failure";
  entity?: string | null;
  /** No PHI: service ids, rule ids, counts, reason codes, the patient hashed (lib/app/log.ts hashId). */
  detail: Record<string, string | number | boolean | null>;
  /** From where the call came (lib/audit auditOrigin). */
  origin?: string | null;
}

/** One audit_events row (role "cds-client", lib/audit's writer and PHI guard); a failure to audit never fails the call it describes. */
export async function auditCds(pool: pg.Pool, entry: CdsAuditEntry): Promise<void> {
  await tryRecordAudit(pool, {
    actor: entry.actor,
    role: "cds-client",
    action: entry.action,
    entity: entry.entity ?? null,
    outcome: entry.outcome,
    detail: entry.detail,
    origin: entry.origin ?? null,
  });
}

