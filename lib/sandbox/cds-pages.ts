/**
 * The launcher's CDS Hooks views: "Open chart" (patient-view) and "Order a JAK inhibitor" (order-sign), showing
 * the returned cards the way an EHR would (indicator, summary, detail as escaped markdown-lite, source link,
 * suggestions with the orders they would create, override reasons), posting Accept/Override feedback, and turning
 * each card's smart link into a real EHR launch of the app through the launcher. Server-rendered HTML; everything
 * the service sends is escaped, never rendered as raw HTML.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Patient } from "@medplum/fhirtypes";
import { z } from "zod";
import { page } from "./auth";
import {
  buildDraftMedicationRequest,
  CDS_SERVICE_IDS,
  draftOrdersBundle,
  findOrderableDrug,
  ORDERABLE_JAK_DRUGS,
  type CdsCardView,
  type CdsClient,
  type FeedbackEntry,
  type HookCallResult,
} from "./cds-client";
import { displayName, findPractitioner, type PractitionerSummary } from "./directory";
import { escapeHtml, readForm, sendHtml } from "./http-util";
import type { SandboxRepository } from "./repository";

export interface CdsPagesOptions {
  repo: SandboxRepository;
  client: CdsClient;
  /** The launcher's path: its /launch endpoint performs the EHR launch behind every smart link. */
  launcherPath: string;
  /** YYYY-MM-DD written on draft orders: the EHR's today (the cohort's asOf in the demo). */
  today: () => string;
}

interface ChartSubject {
  practitioner: PractitionerSummary;
  patientId: string;
  patientName: string;
  patient: Patient;
}

const codingSchema = z.object({ system: z.string().optional(), code: z.string(), display: z.string().optional() });
const SERVICE_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** The CDS Hooks views mounted under /cds (and linked from the launcher). */
export class CdsPages {
  readonly path = "/cds";

  constructor(private readonly options: CdsPagesOptions) {}

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = url.pathname.slice(this.path.length);
    if (route === "/chart" && req.method === "GET") return this.chart(res, url.searchParams);
    if (route === "/order" && req.method === "GET") return this.orderForm(res, url.searchParams);
    if (route === "/order" && req.method === "POST") return this.signOrder(res, await readForm(req));
    if (route === "/feedback" && req.method === "POST") return this.feedback(res, await readForm(req));
    sendHtml(res, 404, page("Not found", `<h1>Not found</h1><p><a href="${this.options.launcherPath}">Back to the launcher</a></p>`));
  }

  // ---------------------------------------------------------------- patient-view

  private async chart(res: ServerResponse, params: URLSearchParams): Promise<void> {
    const subject = await this.subject(params);
    if (typeof subject === "string") return this.problem(res, subject);
    const prefetch = params.get("prefetch") !== "0";
    const result = await this.options.client.callHook(
      CDS_SERVICE_IDS.patientView,
      { userId: `Practitioner/${subject.practitioner.id}`, patientId: subject.patientId },
      { prefetch },
    );
    const query = this.subjectQuery(subject);
    const body = `<h1>Chart: ${escapeHtml(subject.patientName)}</h1>
${this.subjectLine(subject)}
<nav aria-label="Chart actions"><ul class="plain">
<li><a href="${this.path}/order?${query}">Order a JAK inhibitor</a></li>
<li>${prefetch ? `<a href="${this.path}/chart?${query}&amp;prefetch=0">Call patient-view again without prefetch</a> (the service reads the FHIR server)` : `<a href="${this.path}/chart?${query}">Call patient-view again with prefetch</a>`}</li>
<li><a href="${this.options.launcherPath}">Back to the launcher</a></li>
</ul></nav>
<section aria-labelledby="cds-cards-heading">
<h2 id="cds-cards-heading">CDS Hooks: patient-view</h2>
${this.renderResult(result, subject, CDS_SERVICE_IDS.patientView)}
</section>`;
    sendHtml(res, result.ok ? 200 : 502, cdsPage(`Chart: ${subject.patientName}`, body));
  }

  // ---------------------------------------------------------------- order-sign

  private async orderForm(res: ServerResponse, params: URLSearchParams, error?: string): Promise<void> {
    const subject = await this.subject(params);
    if (typeof subject === "string") return this.problem(res, subject);
    const selected = params.get("drug") ?? ORDERABLE_JAK_DRUGS[0]?.id;
    const options = ORDERABLE_JAK_DRUGS.map(
      (drug) => `<option value="${escapeHtml(drug.id)}"${drug.id === selected ? " selected" : ""}>${escapeHtml(drug.label)}</option>`,
    ).join("\n");
    const body = `<h1>Order a JAK inhibitor</h1>
${this.subjectLine(subject)}
${error ? `<p role="alert" class="banner">${escapeHtml(error)}</p>` : ""}
<p>Signing the order calls the CDS service's <code>order-sign</code> hook with the draft MedicationRequest in
<code>context.draftOrders</code>, as an EHR does before it places the order.</p>
<form method="post" action="${this.path}/order">
${this.hiddenSubject(subject)}
<p><label for="drug">JAK inhibitor</label><br><select id="drug" name="drug">
${options}
</select></p>
<p><label><input type="checkbox" name="prefetch" value="1" checked> Send prefetch (otherwise the service reads the FHIR server itself)</label></p>
<button type="submit">Sign order</button>
</form>
<p><a href="${this.path}/chart?${this.subjectQuery(subject)}">Open chart</a> · <a href="${this.options.launcherPath}">Back to the launcher</a></p>`;
    sendHtml(res, error ? 400 : 200, cdsPage("Order a JAK inhibitor", body));
  }

  private async signOrder(res: ServerResponse, form: URLSearchParams): Promise<void> {
    const subject = await this.subject(form);
    if (typeof subject === "string") return this.problem(res, subject);
    const drugId = form.get("drug") ?? "";
    const orderable = findOrderableDrug(drugId);
    if (!orderable) return this.orderForm(res, form, "Choose one of the listed JAK inhibitors.");
    const draft = buildDraftMedicationRequest({
      drug: orderable.id,
      patientId: subject.patientId,
      practitionerId: subject.practitioner.id,
      authoredOn: this.options.today(),
    });
    const result = await this.options.client.callHook(
      CDS_SERVICE_IDS.orderSign,
      { userId: `Practitioner/${subject.practitioner.id}`, patientId: subject.patientId, draftOrders: draftOrdersBundle([draft]) },
      { prefetch: form.get("prefetch") === "1" },
    );
    const body = `<h1>Order-sign: ${escapeHtml(orderable.label)}</h1>
${this.subjectLine(subject)}
<p>Draft order: <strong>${escapeHtml(draft.medicationCodeableConcept?.text ?? orderable.label)}</strong>, ${escapeHtml(orderable.dosageText)}
(MedicationRequest, status <code>draft</code>, authored ${escapeHtml(draft.authoredOn ?? "")}).</p>
<details><summary>Draft MedicationRequest (FHIR JSON)</summary><pre>${escapeHtml(JSON.stringify(draft, null, 2))}</pre></details>
<section aria-labelledby="cds-cards-heading">
<h2 id="cds-cards-heading">CDS Hooks: order-sign</h2>
${this.renderResult(result, subject, CDS_SERVICE_IDS.orderSign)}
</section>
<p><a href="${this.path}/order?${this.subjectQuery(subject)}&amp;drug=${encodeURIComponent(orderable.id)}">Change the order</a> ·
<a href="${this.path}/chart?${this.subjectQuery(subject)}">Open chart</a> · <a href="${this.options.launcherPath}">Back to the launcher</a></p>`;
    sendHtml(res, result.ok ? 200 : 502, cdsPage("Order-sign cards", body));
  }

  // ---------------------------------------------------------------- feedback

  private async feedback(res: ServerResponse, form: URLSearchParams): Promise<void> {
    const subject = await this.subject(form);
    if (typeof subject === "string") return this.problem(res, subject);
    const serviceId = form.get("service") ?? "";
    const cardUuid = form.get("card") ?? "";
    const outcome = form.get("outcome");
    if (!SERVICE_ID.test(serviceId) || !cardUuid || (outcome !== "accepted" && outcome !== "overridden")) {
      return this.problem(res, "The feedback form is incomplete: it needs the service, the card and Accept or Override.");
    }
    const entry: FeedbackEntry = { card: cardUuid, outcome, outcomeTimestamp: new Date().toISOString() };
    if (outcome === "accepted") {
      const accepted = form.getAll("accepted").filter((id) => id.length > 0);
      if (accepted.length > 0) entry.acceptedSuggestions = accepted.map((id) => ({ id }));
    } else {
      const reason = parseCoding(form.get("reason"));
      const comment = (form.get("comment") ?? "").trim();
      if (reason || comment) entry.overrideReason = { ...(reason ? { reason } : {}), ...(comment ? { userComment: comment } : {}) };
    }
    const result = await this.options.client.sendFeedback(serviceId, [entry]);
    const what =
      outcome === "accepted"
        ? `accepted${entry.acceptedSuggestions ? ` with ${entry.acceptedSuggestions.length} suggestion${entry.acceptedSuggestions.length === 1 ? "" : "s"}` : ""}`
        : `overridden${entry.overrideReason?.reason ? ` (${entry.overrideReason.reason.display ?? entry.overrideReason.reason.code})` : ""}`;
    const body = `<h1>Card feedback</h1>
${this.subjectLine(subject)}
${
  result.ok
    ? `<p role="status">Feedback sent to the CDS service: card ${escapeHtml(what)}.</p>`
    : `<p role="alert" class="banner">Feedback was not recorded: ${escapeHtml(result.error)}</p>`
}
<p><a href="${this.path}/chart?${this.subjectQuery(subject)}">Open chart</a> · <a href="${this.path}/order?${this.subjectQuery(subject)}">Order a JAK inhibitor</a> ·
<a href="${this.options.launcherPath}">Back to the launcher</a></p>`;
    sendHtml(res, result.ok ? 200 : 502, cdsPage("Card feedback", body));
  }

  // ---------------------------------------------------------------- rendering

  private renderResult(result: HookCallResult, subject: ChartSubject, serviceId: string): string {
    if (!result.ok) return `<p role="alert" class="banner">No cards: ${escapeHtml(result.error)}</p>`;
    const call = result.call;
    const prefetchNote =
      call.prefetchKeys.length > 0
        ? `prefetch sent: ${call.prefetchKeys.map((key) => `<code>${escapeHtml(key)}</code>`).join(", ")}${call.prefetchOmitted.length > 0 ? `; left out: ${call.prefetchOmitted.map((key) => `<code>${escapeHtml(key)}</code>`).join(", ")}` : ""}`
        : "no prefetch sent: the service reads the FHIR server with the fhirAuthorization token";
    const meta = `<p class="meta">Service <code>${escapeHtml(serviceId)}</code> (hook <code>${escapeHtml(call.hook)}</code>) answered in ${result.ms} ms with ${result.cards.length} card${result.cards.length === 1 ? "" : "s"}; ${prefetchNote}.</p>`;
    if (result.cards.length === 0) return `${meta}\n<p>No cards: the service has nothing to say for this patient.</p>`;
    return `${meta}\n${result.cards.map((card, index) => this.renderCard(card, index, subject, serviceId)).join("\n")}`;
  }

  private renderCard(card: CdsCardView, index: number, subject: ChartSubject, serviceId: string): string {
    const id = `card-${index + 1}`;
    const indicator = card.indicator;
    const source = card.source.url && isHttpUrl(card.source.url)
      ? `<a href="${escapeHtml(card.source.url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(card.source.label)}</a>`
      : escapeHtml(card.source.label);
    const suggestions = card.suggestions ?? [];
    const overrideReasons = card.overrideReasons ?? [];
    const choiceType = card.selectionBehavior === "at-most-one" ? "radio" : "checkbox";
    const suggestionItems = suggestions
      .map((suggestion, suggestionIndex) => {
        const inputId = `${id}-suggestion-${suggestionIndex + 1}`;
        const control = card.uuid && suggestion.uuid
          ? `<input type="${choiceType}" name="accepted" id="${inputId}" value="${escapeHtml(suggestion.uuid)}"${suggestion.isRecommended ? " checked" : ""}> `
          : "";
        const actions = (suggestion.actions ?? []).map((action) => `<li>${describeAction(action)}</li>`).join("");
        return `<li>${control}<label${control ? ` for="${inputId}"` : ""}>${escapeHtml(suggestion.label)}</label>${suggestion.isRecommended ? ' <span class="tag">recommended</span>' : ""}${actions ? `<ul class="actions">${actions}</ul>` : ""}</li>`;
      })
      .join("\n");
    const suggestionsBlock = suggestions.length > 0
      ? `<fieldset class="suggestions"><legend>Suggestions</legend><ul class="plain">${suggestionItems}</ul></fieldset>`
      : "";
    const reasonId = `${id}-reason`;
    const commentId = `${id}-comment`;
    const overrideBlock = `<fieldset class="override"><legend>Override</legend>
${overrideReasons.length > 0
  ? `<p><label for="${reasonId}">Override reason</label><br><select id="${reasonId}" name="reason"><option value="">(no reason)</option>${overrideReasons
      .map((reason) => `<option value="${escapeHtml(JSON.stringify({ system: reason.system, code: reason.code, display: reason.display }))}">${escapeHtml(reason.display ?? reason.code)}</option>`)
      .join("")}</select></p>`
  : "<p>The service offers no override reasons for this card.</p>"}
<p><label for="${commentId}">Comment (not stored by the service)</label><br><input type="text" id="${commentId}" name="comment" maxlength="500"></p>
<button type="submit" name="outcome" value="overridden">Override</button></fieldset>`;
    const feedbackBlock = card.uuid
      ? `<form method="post" action="${this.path}/feedback">
${this.hiddenSubject(subject)}<input type="hidden" name="service" value="${escapeHtml(serviceId)}"><input type="hidden" name="card" value="${escapeHtml(card.uuid)}">
${suggestionsBlock}
<button type="submit" name="outcome" value="accepted">Accept</button>
${overrideBlock}
</form>`
      : `${suggestionsBlock}<p class="meta">This card has no uuid, so no feedback can be sent for it.</p>`;
    const links = (card.links ?? []).map((link) => this.renderLink(link, subject)).join("\n");
    return `<article class="cds-card indicator-${escapeHtml(indicator)}" aria-labelledby="${id}-summary">
<h3 id="${id}-summary"><span class="indicator">${escapeHtml(INDICATOR_LABEL[indicator])}</span> ${escapeHtml(card.summary)}</h3>
${card.detail ? `<div class="detail">${renderMarkdownLite(card.detail)}</div>` : ""}
<p class="source">Source: ${source}</p>
${feedbackBlock}
${links ? `<div class="links">${links}</div>` : ""}
</article>`;
  }

  /** A smart link is an EHR launch of that app for this patient and practitioner, through the launcher. */
  private renderLink(link: NonNullable<CdsCardView["links"]>[number], subject: ChartSubject): string {
    if (!isHttpUrl(link.url)) return `<p class="meta">${escapeHtml(link.label)} (link with an unsupported URL, not opened)</p>`;
    if (link.type === "smart") {
      return `<form method="get" action="${this.options.launcherPath}/launch" class="inline">
<input type="hidden" name="practitioner" value="${escapeHtml(subject.practitioner.id)}"><input type="hidden" name="patient" value="${escapeHtml(subject.patientId)}">
<input type="hidden" name="mode" value="ehr"><input type="hidden" name="launch_url" value="${escapeHtml(link.url)}">
<button type="submit">${escapeHtml(link.label)}</button></form>`;
    }
    return `<a href="${escapeHtml(link.url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(link.label)}</a>`;
  }

  // ---------------------------------------------------------------- subject (practitioner + patient)

  private async subject(params: URLSearchParams): Promise<ChartSubject | string> {
    const practitionerId = params.get("practitioner") ?? "";
    // The launcher's per-patient buttons send cds_patient; its radio sends patient.
    const patientId = params.get("cds_patient") || params.get("patient") || "";
    const practitioner = findPractitioner(this.options.repo, practitionerId);
    if (!practitioner) return "Choose the signed-in practitioner on the launcher first.";
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(patientId)) return "Choose a patient on the launcher first.";
    let patient: Patient;
    try {
      patient = await this.options.repo.readResource<Patient>("Patient", patientId);
    } catch {
      return "That patient is not in this EHR.";
    }
    return { practitioner, patientId, patientName: displayName(patient), patient };
  }

  private subjectLine(subject: ChartSubject): string {
    const { patient } = subject;
    const details = [patient.birthDate ? `born ${patient.birthDate}` : "", patient.gender ?? ""].filter(Boolean).join(", ");
    return `<p>Patient: <strong>${escapeHtml(subject.patientName)}</strong>${details ? ` (${escapeHtml(details)})` : ""}.
Signed in: ${escapeHtml(subject.practitioner.name)} <span class="role">${escapeHtml(subject.practitioner.role ?? "no app role")}</span>.</p>`;
  }

  private subjectQuery(subject: ChartSubject): string {
    return `practitioner=${encodeURIComponent(subject.practitioner.id)}&amp;patient=${encodeURIComponent(subject.patientId)}`;
  }

  private hiddenSubject(subject: ChartSubject): string {
    return `<input type="hidden" name="practitioner" value="${escapeHtml(subject.practitioner.id)}"><input type="hidden" name="patient" value="${escapeHtml(subject.patientId)}">`;
  }

  private problem(res: ServerResponse, message: string): void {
    sendHtml(res, 400, page("CDS Hooks", `<h1>CDS Hooks</h1><p role="alert" class="banner">${escapeHtml(message)}</p><p><a href="${this.options.launcherPath}">Back to the launcher</a></p>`));
  }
}

/** Card styles (the sandbox's page shell has none): indicator colour on the left edge, as EHRs show cards. */
const CARD_STYLE = `<style>
.cds-card{border:1px solid #ccc;border-left:6px solid #1d3d8f;border-radius:4px;padding:.5rem 1rem;margin:1rem 0}
.cds-card.indicator-critical{border-left-color:#b00020}.cds-card.indicator-warning{border-left-color:#c77700}
.cds-card h3{font-size:1.05rem;margin:.25rem 0}.indicator{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;margin-right:.4rem}
.meta{color:#555;font-size:.9rem}.tag{font-size:.8rem;background:#e6f4ea;padding:0 .3rem;border-radius:3px}
.order-code code{font-weight:600}form.inline{display:inline}pre{white-space:pre-wrap;font-size:.8rem}
</style>`;

function cdsPage(title: string, body: string): string {
  return page(title, `${CARD_STYLE}\n${body}`);
}

const INDICATOR_LABEL: Record<CdsCardView["indicator"], string> = { critical: "Critical", warning: "Warning", info: "Info" };

const SYSTEM_LABEL: Record<string, string> = {
  "http://loinc.org": "LOINC",
  "http://snomed.info/sct": "SNOMED CT",
  "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
  "http://hl7.org/fhir/sid/cvx": "CVX",
};

/** One action of a suggestion: what it does, and for an order the resource type and its codes (LOINC 71773-6 ...). */
function describeAction(action: NonNullable<NonNullable<CdsCardView["suggestions"]>[number]["actions"]>[number]): string {
  const verb = action.type === "create" ? "Create" : action.type === "update" ? "Update" : action.type === "delete" ? "Delete" : action.type;
  const parts = [`${escapeHtml(verb)}: ${escapeHtml(action.description ?? "")}`];
  const resource = action.resource && typeof action.resource === "object" ? (action.resource as Record<string, unknown>) : undefined;
  if (resource && typeof resource.resourceType === "string") {
    const code = resource.code && typeof resource.code === "object" ? (resource.code as { coding?: unknown; text?: unknown }) : undefined;
    const codings = Array.isArray(code?.coding) ? (code.coding as unknown[]) : [];
    const described = codings
      .map((coding) => codingSchema.safeParse(coding))
      .filter((parsed) => parsed.success)
      .map(({ data }) => {
        const system = data.system ? (SYSTEM_LABEL[data.system] ?? data.system) : "code";
        return `<span class="order-code">${escapeHtml(system)} <code>${escapeHtml(data.code)}</code>${data.display ? ` ${escapeHtml(data.display)}` : ""}</span>`;
      });
    const status = typeof resource.status === "string" ? `, status ${escapeHtml(resource.status)}` : "";
    const text = described.length === 0 && typeof code?.text === "string" ? ` ${escapeHtml(code.text)}` : "";
    parts.push(`(${escapeHtml(resource.resourceType)}${status}${described.length > 0 ? `: ${described.join("; ")}` : text})`);
  }
  return parts.join(" ");
}

function parseCoding(value: string | null): z.infer<typeof codingSchema> | undefined {
  if (!value) return undefined;
  try {
    const parsed = codingSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function isHttpUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

/**
 * Markdown-lite for card details: the text is HTML-escaped first, then paragraphs (blank lines), line breaks,
 * "- " / "1. " lists, **bold**, *italic*, `code` and [text](http(s) URL) links are formatted. Raw HTML in the
 * markdown stays visible as text; links with other schemes (javascript:, data:) stay text.
 */
export function renderMarkdownLite(markdown: string): string {
  const out: string[] = [];
  for (const block of markdown.replace(/\r\n?/g, "\n").split(/\n\s*\n/)) {
    let paragraph: string[] = [];
    let list: { tag: "ul" | "ol"; items: string[] } | undefined;
    const flushParagraph = (): void => {
      if (paragraph.length > 0) out.push(`<p>${paragraph.join("<br>")}</p>`);
      paragraph = [];
    };
    const flushList = (): void => {
      if (list) out.push(`<${list.tag}>${list.items.map((item) => `<li>${item}</li>`).join("")}</${list.tag}>`);
      list = undefined;
    };
    for (const line of block.split("\n")) {
      if (line.trim() === "") continue;
      const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
      const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
      const heading = /^\s*#{1,6}\s+(.*)$/.exec(line);
      const item = bullet ?? numbered;
      if (item) {
        const tag = bullet ? "ul" : "ol";
        flushParagraph();
        if (list && list.tag !== tag) flushList();
        list ??= { tag, items: [] };
        list.items.push(inlineMarkdown(item[1] ?? ""));
      } else if (heading) {
        flushParagraph();
        flushList();
        out.push(`<p><strong>${inlineMarkdown(heading[1] ?? "")}</strong></p>`);
      } else {
        flushList();
        paragraph.push(inlineMarkdown(line.trim()));
      }
    }
    flushParagraph();
    flushList();
  }
  return out.join("\n");
}

function inlineMarkdown(text: string): string {
  // Code spans are kept verbatim (escaped); other markup applies outside them only.
  return text
    .split(/(`[^`]+`)/)
    .map((segment) => {
      if (/^`[^`]+`$/.test(segment)) return `<code>${escapeHtml(segment.slice(1, -1))}</code>`;
      return escapeHtml(segment)
        .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_match, label: string, href: string) =>
          /^https?:\/\//i.test(href) ? `<a href="${href}" target="_blank" rel="noopener noreferrer">${label}</a>` : `${label} (${href})`,
        )
        .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
        .replace(/(^|[^*\w])\*([^*\s][^*]*?)\*(?!\w)/g, "$1<em>$2</em>");
    })
    .join("");
}
