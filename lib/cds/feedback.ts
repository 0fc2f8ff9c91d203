/**
 * POST /cds-services/{id}/feedback (CDS Hooks 2.0): the client reports which cards a clinician accepted or overrode,
 * and why. Each entry is stored with the card's primary rule id (when this service issued the card to this client),
 * the override reason's code and display, and the accepted suggestion ids; the free-text userComment is validated
 * but never stored (it may hold PHI). One audit row per call.
 */
import { z } from "zod";
import { auditOrigin } from "../audit/audit";
import { auditCds, issuedCards, storeFeedback, type FeedbackRow } from "../db/cds-store";
import { cdsServiceUrl } from "./config";
import { findCdsService } from "./discovery";
import { authenticateCdsCall, cdsJson, readCdsBody, type CdsDeps } from "./service";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text PostgreSQL can store: no NUL, no unpaired surrogate (the EHR's strings are checked, not trusted). */
const storable = (max: number, min = 0) =>
  z
    .string()
    .min(min, "is empty")
    .max(max, "is too long")
    .refine((s) => !s.includes("\u0000") && !LONE_SURROGATE.test(s), "holds characters that cannot be stored");

const coding = z.looseObject({
  code: storable(200, 1),
  system: storable(500).optional(),
  display: storable(500).optional(),
});

const feedbackEntry = z
  .looseObject({
    card: storable(100, 1),
    outcome: z.enum(["accepted", "overridden"], 'must be "accepted" or "overridden"'),
    acceptedSuggestions: z.array(z.looseObject({ id: storable(100, 1) })).max(100).optional(),
    overrideReason: z.looseObject({ reason: coding.optional(), userComment: z.string().max(10_000, "is too long").optional() }).optional(),
    outcomeTimestamp: z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time" }),
  })
  .superRefine((entry, ctx) => {
    if (entry.outcome === "accepted" && entry.overrideReason !== undefined) ctx.addIssue({ code: "custom", path: ["overrideReason"], message: "is only for overridden cards" });
    if (entry.outcome === "overridden" && (entry.acceptedSuggestions?.length ?? 0) > 0) ctx.addIssue({ code: "custom", path: ["acceptedSuggestions"], message: "is only for accepted cards" });
  });

export const feedbackRequestSchema = z.looseObject({
  feedback: z.array(feedbackEntry).min(1, "must hold at least one entry").max(100, "holds more than 100 entries"),
});

export type FeedbackRequest = z.infer<typeof feedbackRequestSchema>;

/** The feedback URL (what the client calls) and, as clients differ on it, the service URL are both accepted as `aud`. */
export function feedbackAudiences(base: string, serviceId: string): string[] {
  return [`${cdsServiceUrl(base, serviceId)}/feedback`, cdsServiceUrl(base, serviceId)];
}

export async function handleCdsFeedback(request: Request, serviceId: string, deps: CdsDeps): Promise<Response> {
  const service = findCdsService(serviceId);
  if (!service) return cdsJson(404, { error: "unknown-service", message: "There is no CDS service with this id; GET /cds-services lists them." });
  const action = "cds.feedback";
  const entity = `cds-service:${service.id}`;
  const auth = await authenticateCdsCall(request, feedbackAudiences(deps.serviceBase(request), service.id), action, entity, deps);
  if (!auth.ok) return auth.response;
  const parsed = await readCdsBody(request, feedbackRequestSchema);
  if (!parsed.ok) {
    await auditCds(deps.pool, { origin: auditOrigin(request), actor: auth.iss, action, outcome: "refused", entity, detail: { reason: "bad-request" } });
    return parsed.response;
  }
  const entries = parsed.value.feedback;
  try {
    const cards = await issuedCards(
      deps.pool,
      entries.map((e) => e.card),
    );
    let unknownCards = 0;
    const rows: FeedbackRow[] = entries.map((entry) => {
      const card = cards.get(entry.card);
      // Only a card this service issued to this client speaks for a rule; others are kept but counted nowhere.
      const linked = card && card.client === auth.iss && card.serviceId === service.id ? card : undefined;
      if (!linked) unknownCards++;
      const reason = entry.overrideReason?.reason;
      return {
        cardUuid: entry.card,
        serviceId: service.id,
        ruleId: linked?.ruleIds[0] ?? null,
        outcome: entry.outcome,
        overrideCode: reason?.code ?? null,
        overrideDisplay: reason?.display ?? null,
        acceptedSuggestions: (entry.acceptedSuggestions ?? []).map((s) => s.id),
        outcomeTimestamp: new Date(entry.outcomeTimestamp),
        client: auth.iss,
      };
    });
    const stored = await storeFeedback(deps.pool, rows);
    await auditCds(deps.pool, {
      origin: auditOrigin(request),
      actor: auth.iss,
      action,
      outcome: "success",
      entity,
      detail: {
        entries: entries.length,
        stored,
        accepted: rows.filter((r) => r.outcome === "accepted").length,
        overridden: rows.filter((r) => r.outcome === "overridden").length,
        unknownCards,
      },
    });
    return cdsJson(200, { stored });
  } catch (error) {
    const kind = error instanceof Error ? error.name : "error";
    deps.log?.("cds-feedback-failed", { error: kind });
    await auditCds(deps.pool, { origin: auditOrigin(request), actor: auth.iss, action, outcome: "failure", entity, detail: { error: kind } });
    return cdsJson(500, { error: "server-error", message: "The feedback could not be stored; send it again." });
  }
}
