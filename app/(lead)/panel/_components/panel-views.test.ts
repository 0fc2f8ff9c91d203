import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { DEFAULT_FILTERS, parsePanelFilters, type PanelFilters } from "@/lib/panel/filters";
import { DEFINITIONS } from "@/lib/panel/queries";
import type { PanelSummary, WorklistPage } from "@/lib/panel/types";
import { AttentionFigures } from "./attention-figures";
import { NoSyncYet } from "./no-sync-yet";
import { OnJakSection } from "./on-jak-section";
import { ResponseRateSection } from "./response-rate-section";
import { WorklistTable } from "./worklist/worklist-table";

const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");

function summary(): PanelSummary {
  return {
    today: "2026-11-01",
    source: null,
    sources: [{ id: "ehr-a", name: "EHR A", lastSuccessAt: "2026-11-01T02:00:00.000Z" }],
    lastSync: { source: "ehr-a", status: "succeeded", startedAt: "2026-11-01T01:00:00.000Z", finishedAt: "2026-11-01T02:00:00.000Z" },
    evaluatedPatients: { count: 60, definition: DEFINITIONS.evaluatedPatients },
    onJak: { count: 48, definition: DEFINITIONS.onJak, byDrugRoute: [{ drug: "upadacitinib", route: "oral", count: 24 }, { drug: "ruxolitinib-cream", route: "topical", count: 24 }] },
    responseRates: {
      definitions: DEFINITIONS.responseMeasures,
      scope: DEFINITIONS.responseScope,
      rows: [
        {
          drug: "upadacitinib",
          week: 16,
          decided: 10,
          rates: { easi75: { numerator: 6, denominator: 8, notAssessable: 2, percent: 75 }, itch4: { numerator: 5, denominator: 10, notAssessable: 0, percent: 50 } },
        },
      ],
    },
    notResponded: { count: 7, denominator: 30, definition: DEFINITIONS.notResponded },
    overdueLabs: { count: 5, requirements: 9, denominator: 48, definition: DEFINITIONS.overdueLabs },
    abnormalLabs: { count: 1, results: 2, denominator: 48, definition: DEFINITIONS.abnormalLabs },
    dueNext7Days: { count: 3, patients: 3, definition: DEFINITIONS.dueNext7Days },
    evaluatedAsOf: { min: "2026-11-01", max: "2026-11-01" },
  };
}

describe("panel overview", () => {
  it("shows each worklist figure with its denominator and definition, linking to the list", () => {
    const html = renderToStaticMarkup(createElement(AttentionFigures, { summary: summary(), source: "ehr-a" }));
    const t = text(html);
    expect(t).toContain("Not responded at the latest closed checkpoint 7 of 30 patients whose latest closed checkpoint was assessable");
    expect(t).toContain("5 of 48 patients on a JAK inhibitor; 9 labs in all");
    expect(t).toContain("1 of 48 patients on a JAK inhibitor; 2 abnormal results");
    expect(t).toContain("Checkpoints due in the next 7 days 3 of 48 patients on a JAK inhibitor, one checkpoint each");
    expect(t).toContain(DEFINITIONS.notResponded);
    expect(t).toContain(DEFINITIONS.dueNext7Days);
    expect(html).toContain('href="/panel/worklist?source=ehr-a&amp;preset=not-responded"');
    expect(html).toContain('href="/panel/worklist?source=ehr-a&amp;preset=due-7-days"');
  });

  it("shows rates as percent with numerator and denominator, the not-assessable count, and a dash where the measure is not a criterion", () => {
    const t = text(renderToStaticMarkup(createElement(ResponseRateSection, { summary: summary() })));
    expect(t).toContain("Upadacitinib (Rinvoq)");
    expect(t).toContain("Week 16 10 75% (6 of 8) 2 not assessable");
    expect(t).toContain("50% (5 of 10)");
    expect(t).toContain("not a criterion at this week");
    expect(t).toContain(DEFINITIONS.responseMeasures.easi75);
  });

  it("counts patients on a JAK inhibitor by drug and route with their share", () => {
    const t = text(renderToStaticMarkup(createElement(OnJakSection, { summary: summary() })));
    expect(t).toContain("48 of 60 synced patients");
    expect(t).toContain("Upadacitinib (Rinvoq) oral 24 50%");
  });

  it("says there is no sync yet and where to start one", () => {
    const t = text(renderToStaticMarkup(createElement(NoSyncYet, { lastSync: null, source: null })));
    expect(t).toContain("No sync yet: open Sync");
    const failed = text(renderToStaticMarkup(createElement(NoSyncYet, { lastSync: { source: "ehr-a", status: "failed", startedAt: "2026-11-01T01:00:00.000Z", finishedAt: null }, source: "ehr-a" })));
    expect(failed).toContain("The last sync (1 Nov 2026, 01:00 UTC) failed");
  });
});

describe("worklist table", () => {
  const page: WorklistPage = {
    today: "2026-11-01",
    rows: [
      {
        source: "ehr-a",
        patientId: "pt-000003",
        name: "Ada Able",
        onJak: true,
        drug: "upadacitinib",
        route: "oral",
        courseStart: "2026-05-01",
        courseWeek: 26,
        prescriber: "Dr Lee",
        latestCheckpointWeek: 16,
        latestVerdict: "not-responded",
        flags: { critical: 0, warning: 2, info: 1 },
        labs: { overdue: 1, missing: 0, abnormal: 0 },
        nextDue: { date: "2026-11-20", kind: "lab:week-12:lipids" },
        href: "/panel/patients/ehr-a/pt-000003",
      },
    ],
    total: 1,
    page: 1,
    pageSize: 25,
    pageCount: 1,
    query: "",
    describedFilters: [],
  };
  const render = (filters: PanelFilters = DEFAULT_FILTERS) =>
    renderToStaticMarkup(createElement(WorklistTable, { page, filters, navigate: () => undefined, showSource: true, sourceName: () => "EHR A", busy: false }));

  it("shows name, drug and route, course week, latest verdict with its week, flag counts by severity and next due, linking to the synced view", () => {
    const html = render();
    const t = text(html);
    expect(html).toContain('href="/panel/patients/ehr-a/pt-000003"');
    expect(t).toContain("Ada Able pt-000003 · EHR A Dr Lee");
    expect(t).toContain("Upadacitinib (Rinvoq) oral");
    expect(t).toContain("Week 26 from 1 May 2026");
    expect(t).toContain("not responded week 16");
    expect(t).toContain("2 warning");
    expect(t).toContain("1 info");
    expect(t).not.toContain("critical");
    expect(t).toContain("labs: 1 overdue");
    expect(t).toContain("20 Nov 2026 Week 12: Lipids");
  });

  it("marks the sorted column for screen readers", () => {
    expect(render()).toMatch(/<th scope="col" aria-sort="descending"[^>]*><button[^>]*>Flags/);
    const byName = parsePanelFilters(new URLSearchParams("sort=name"));
    expect(byName.ok && render(byName.filters)).toMatch(/<th scope="col" aria-sort="ascending"[^>]*><button[^>]*>Patient/);
  });
});
