/**
 * The clinic lead's view of the CDS cards: per rule, how many cards were issued over a period, how many a clinician
 * accepted or overrode (EHR feedback), the override rate and the most common override reasons, so rules that are
 * noise stand out. A card counts for its primary rule (the one it cites). Periods: cards by when they were issued,
 * feedback by when the clinician acted (outcomeTimestamp). Counts only: no patient data is stored with cards.
 */
import type pg from "pg";
import { DEFAULT_RULES } from "../clinical";
import { sourcesOfRule } from "../clinical/sources";
import type { FlagKind } from "../clinical/types";

export const CDS_FEEDBACK_PERIOD_DAYS = [30, 90, 180, 365] as const;
export const DEFAULT_CDS_FEEDBACK_DAYS = 90;
/** Override reasons shown per rule. */
export const TOP_OVERRIDE_REASONS = 3;

export interface CdsOverrideReasonCount {
  /** The reason's code (null: overridden without a coded reason). */
  code: string | null;
  display: string | null;
  count: number;
}

export interface CdsRuleFeedback {
  ruleId: string;
  /** What the rule is about, for a person ("Baseline lab missing", "Upadacitinib week 16: not responded"). */
  title: string;
  sourceLabel: string;
  sourceUrl: string;
  cardsIssued: number;
  /** Distinct cards a clinician accepted / overrode. */
  accepted: number;
  overridden: number;
  /** overridden / (accepted + overridden); null before any feedback. */
  overrideRate: number | null;
  topOverrideReasons: CdsOverrideReasonCount[];
}

export interface CdsFeedbackSummary {
  /** The period, [from, to) as ISO instants. */
  from: string;
  to: string;
  days: number;
  /** Noisiest first: highest override rate (rules with feedback), then most cards. */
  rules: CdsRuleFeedback[];
  totals: { cardsIssued: number; accepted: number; overridden: number; overrideRate: number | null };
  /** Feedback on cards this service did not issue to that client (not attributed to any rule). */
  unattributedFeedback: number;
}

const KIND_TITLE: Partial<Record<FlagKind, string>> = {
  "missing-lab": "Safety lab missing",
  "overdue-lab": "Follow-up lab overdue",
  "abnormal-lab": "Abnormal result",
  vaccination: "Vaccination",
  "bsa-limit": "Cream: body surface area above the label's limit",
  "cream-quantity": "Cream: quantity above the label's limit",
  "data-quality": "Data quality",
};

const RULE_TITLE: Record<string, string> = {
  "labs.baseline-missing": "Baseline lab missing before the JAK inhibitor",
  "labs.follow-up-overdue": "Follow-up lab overdue",
  "labs.tb-screen-consider": "TB screening to consider (ruxolitinib cream)",
  "abnormal.anc-low": "Neutrophils below 1.0 x10^3/uL",
  "abnormal.alc-low": "Lymphocytes below 0.5 x10^3/uL",
  "abnormal.hemoglobin-low": "Hemoglobin below 8 g/dL",
  "abnormal.platelets-abrocitinib": "Platelets below 50 x10^3/uL on abrocitinib",
  "abnormal.platelets-before-abrocitinib": "Platelets below 150 x10^3/uL before abrocitinib",
  "abnormal.transaminase-high": "Liver enzymes above 3 x the upper limit of normal",
  "abnormal.eu-abrocitinib-start-anc": "Neutrophils below 1.2 before abrocitinib (EU label)",
  "abnormal.eu-abrocitinib-start-hemoglobin": "Hemoglobin below 10 g/dL before abrocitinib (EU label)",
  "vaccination.no-zoster-before-oral-jak": "No zoster vaccination before an oral JAK inhibitor",
  "vaccination.live-during-oral-jak": "Live vaccine during or shortly before an oral JAK inhibitor",
  "cds.data-unreadable": "Data the EHR did not let the service read",
};

const DRUG_LABEL: Record<string, string> = {
  upadacitinib: "Upadacitinib",
  abrocitinib: "Abrocitinib",
  baricitinib: "Baricitinib",
  "ruxolitinib-cream": "Ruxolitinib cream",
};

/** A person's name for a rule id: the known titles, checkpoint rules by drug and week, else the rule's kind. */
export function cdsRuleTitle(ruleId: string): string {
  const known = RULE_TITLE[ruleId];
  if (known) return known;
  const checkpoint = /^(.+)\.week-(\d+)\.(early-signal|non-response)$/.exec(ruleId);
  if (checkpoint) {
    const drug = DRUG_LABEL[checkpoint[1]!] ?? checkpoint[1]!;
    return `${drug} week ${checkpoint[2]}: ${checkpoint[3] === "early-signal" ? "no early response" : "not responded"}`;
  }
  const kind = DEFAULT_RULES.rules[ruleId]?.kind;
  return (kind && KIND_TITLE[kind]) ?? ruleId;
}

function rate(overridden: number, accepted: number): number | null {
  return overridden + accepted === 0 ? null : overridden / (overridden + accepted);
}

export async function readCdsFeedbackSummary(pool: pg.Pool, options: { days?: number; now?: Date } = {}): Promise<CdsFeedbackSummary> {
  const days = Math.max(1, Math.min(3660, Math.floor(options.days ?? DEFAULT_CDS_FEEDBACK_DAYS)));
  const to = options.now ?? new Date();
  const from = new Date(to.getTime() - days * 86_400_000);
  const [issued, outcomes, reasons, unattributed] = await Promise.all([
    pool.query<{ rule_id: string; cards: number }>(
      `select rule_ids[1] as rule_id, count(*)::int as cards
       from cds_cards where issued_at >= $1 and issued_at < $2 and cardinality(rule_ids) > 0
       group by 1`,
      [from, to],
    ),
    pool.query<{ rule_id: string; outcome: string; cards: number }>(
      `select rule_id, outcome, count(distinct card_uuid)::int as cards
       from cds_feedback where rule_id is not null and outcome_timestamp >= $1 and outcome_timestamp < $2
       group by 1, 2`,
      [from, to],
    ),
    pool.query<{ rule_id: string; code: string | null; display: string | null; entries: number }>(
      `select rule_id, override_code as code, max(override_display) as display, count(*)::int as entries
       from cds_feedback
       where rule_id is not null and outcome = 'overridden' and outcome_timestamp >= $1 and outcome_timestamp < $2
       group by rule_id, override_code
       order by rule_id, entries desc, override_code nulls last`,
      [from, to],
    ),
    pool.query<{ entries: number }>(
      `select count(*)::int as entries from cds_feedback where rule_id is null and outcome_timestamp >= $1 and outcome_timestamp < $2`,
      [from, to],
    ),
  ]);

  const byRule = new Map<string, { cardsIssued: number; accepted: number; overridden: number; reasons: CdsOverrideReasonCount[] }>();
  const entry = (ruleId: string) => {
    let row = byRule.get(ruleId);
    if (!row) {
      row = { cardsIssued: 0, accepted: 0, overridden: 0, reasons: [] };
      byRule.set(ruleId, row);
    }
    return row;
  };
  for (const r of issued.rows) entry(r.rule_id).cardsIssued = r.cards;
  for (const r of outcomes.rows) {
    if (r.outcome === "accepted") entry(r.rule_id).accepted = r.cards;
    else if (r.outcome === "overridden") entry(r.rule_id).overridden = r.cards;
  }
  for (const r of reasons.rows) {
    const list = entry(r.rule_id).reasons;
    if (list.length < TOP_OVERRIDE_REASONS) list.push({ code: r.code, display: r.display, count: r.entries });
  }

  const rules: CdsRuleFeedback[] = [...byRule.entries()].map(([ruleId, r]) => {
    const source = sourcesOfRule(ruleId)[0]!;
    return {
      ruleId,
      title: cdsRuleTitle(ruleId),
      sourceLabel: source.label,
      sourceUrl: source.url,
      cardsIssued: r.cardsIssued,
      accepted: r.accepted,
      overridden: r.overridden,
      overrideRate: rate(r.overridden, r.accepted),
      topOverrideReasons: r.reasons,
    };
  });
  rules.sort((a, b) => (b.overrideRate ?? -1) - (a.overrideRate ?? -1) || b.cardsIssued - a.cardsIssued || a.ruleId.localeCompare(b.ruleId));
  const totals = rules.reduce((t, r) => ({ cardsIssued: t.cardsIssued + r.cardsIssued, accepted: t.accepted + r.accepted, overridden: t.overridden + r.overridden }), {
    cardsIssued: 0,
    accepted: 0,
    overridden: 0,
  });
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    days,
    rules,
    totals: { ...totals, overrideRate: rate(totals.overridden, totals.accepted) },
    unattributedFeedback: unattributed.rows[0]?.entries ?? 0,
  };
}
