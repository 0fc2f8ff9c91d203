import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { CdsFeedbackSummary } from "@/lib/panel/cds-feedback";
import { CdsFeedbackView } from "./cds-feedback-view";

const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
const PERIODS = [30, 90, 180, 365] as const;

function summary(): CdsFeedbackSummary {
  return {
    from: "2026-08-03T00:00:00.000Z",
    to: "2026-11-01T00:00:00.000Z",
    days: 90,
    rules: [
      {
        ruleId: "vaccination.no-zoster-before-oral-jak",
        title: "No zoster vaccination before an oral JAK inhibitor",
        sourceLabel: "ACIP recombinant zoster vaccine",
        sourceUrl: "https://www.cdc.gov/mmwr/volumes/71/wr/mm7103a2.htm",
        cardsIssued: 12,
        accepted: 1,
        overridden: 3,
        overrideRate: 0.75,
        topOverrideReasons: [
          { code: "vaccinated-elsewhere", display: "Vaccinated elsewhere, documented", count: 2 },
          { code: null, display: null, count: 1 },
        ],
      },
      {
        ruleId: "labs.baseline-missing",
        title: "Baseline lab missing before the JAK inhibitor",
        sourceLabel: "Rinvoq US PI 5.8",
        sourceUrl: "https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=upadacitinib",
        cardsIssued: 4,
        accepted: 0,
        overridden: 0,
        overrideRate: null,
        topOverrideReasons: [],
      },
    ],
    totals: { cardsIssued: 16, accepted: 1, overridden: 3, overrideRate: 0.75 },
    unattributedFeedback: 0,
  };
}

describe("CDS cards view", () => {
  it("shows each rule's cards, outcomes, override rate and reasons, with the rule's source as a link", () => {
    const html = renderToStaticMarkup(createElement(CdsFeedbackView, { summary: summary(), days: 90, periods: PERIODS }));
    const body = text(html);
    expect(body).toContain("No zoster vaccination before an oral JAK inhibitor");
    expect(body).toContain("75% (3 of 4)");
    expect(body).toContain("Vaccinated elsewhere, documented (2)");
    expect(body).toContain("no reason given (1)");
    expect(body).toContain("no feedback yet");
    expect(body).toContain("16 cards issued; 1 accepted, 3 overridden (override rate 75%)");
    expect(html).toContain('href="https://www.cdc.gov/mmwr/volumes/71/wr/mm7103a2.htm" target="_blank" rel="noopener noreferrer"');
    expect(html).toMatch(/<a aria-current="page"[^>]*href="\/panel\/cds\?days=90"/);
    expect(html.match(/aria-current="page"/g)).toHaveLength(1);
  });

  it("says when no card was issued in the period", () => {
    const empty = { ...summary(), rules: [], totals: { cardsIssued: 0, accepted: 0, overridden: 0, overrideRate: null } };
    expect(text(renderToStaticMarkup(createElement(CdsFeedbackView, { summary: empty, days: 90, periods: PERIODS })))).toContain("No CDS cards were issued in the last 90 days");
  });

  it("says when the figures could not be read", () => {
    expect(text(renderToStaticMarkup(createElement(CdsFeedbackView, { summary: null, days: 30, periods: PERIODS })))).toContain("could not be read");
  });
});
