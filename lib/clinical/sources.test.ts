import { beforeAll, describe, expect, it } from "vitest";
import { generateCohort } from "../sandbox/cohort/index";
import { evaluatePatient } from "./evaluate";
import { ruleFlag } from "./flags";
import { DEFAULT_RULES, type RuleSet } from "./rules";
import { NO_SOURCE, RULE_SOURCES, sourcesOfRule } from "./sources";
import type { DrugId, Flag, PatientEvaluation } from "./types";

const DRUGS = Object.keys(DEFAULT_RULES.drugs) as DrugId[];
const CHECKPOINT_RULES = Object.values(DEFAULT_RULES.drugs).flatMap((d) => d.checkpoints);
const ALL_RULE_IDS = [...Object.keys(DEFAULT_RULES.rules), ...CHECKPOINT_RULES.map((c) => c.ruleId)];
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

describe("rule sources", () => {
  it("gives every rule id, for every drug, at least one source with an https link, never the no-source fallback", () => {
    expect(ALL_RULE_IDS.length).toBe(17 + 16);
    for (const ruleId of ALL_RULE_IDS) {
      for (const drug of [undefined, ...DRUGS]) {
        const sources = sourcesOfRule(ruleId, DEFAULT_RULES, drug);
        expect(sources.length, ruleId).toBeGreaterThan(0);
        expect(sources[0], `${ruleId} ${drug}`).not.toBe(NO_SOURCE);
        for (const s of sources) expect(new URL(s.url).protocol, `${ruleId}: ${s.url}`).toBe("https:");
      }
    }
  });

  it("names only sources that exist, so none is silently dropped", () => {
    const named = [
      ...Object.values(DEFAULT_RULES.rules).flatMap((r) => [...r.sources, ...Object.values(r.sourcesByDrug ?? {}).flat()]),
      ...CHECKPOINT_RULES.flatMap((c) => c.sources),
      ...Object.values(DEFAULT_RULES.drugs).flatMap((d) => d.sources),
    ];
    for (const id of named) expect(RULE_SOURCES[id], id).toBeDefined();
  });

  it("links US labels to their DailyMed set id, EU labels to the EMA product page and trials to doi.org", () => {
    for (const s of Object.values(RULE_SOURCES)) {
      expect(s.label.length, s.id).toBeGreaterThan(10);
      expect(s.label, s.id).not.toMatch(/clinical-reference|\.md\b/);
      if (s.kind === "us-label" && s.url.includes("dailymed")) expect(s.url, s.id).toMatch(new RegExp(`^https://dailymed\\.nlm\\.nih\\.gov/dailymed/drugInfo\\.cfm\\?setid=${UUID}$`));
      if (s.kind === "eu-label") expect(s.url, s.id).toMatch(/^https:\/\/www\.ema\.europa\.eu\/en\/medicines\/human\/EPAR\/[a-z]+$/);
      if (s.kind === "trial") expect(s.url, s.id).toMatch(/^https:\/\/doi\.org\/10\.\d+\//);
    }
    // Each label's product page is the same for all its sections.
    expect(new Set(Object.values(RULE_SOURCES).filter((s) => s.label.startsWith("Rinvoq (upadacitinib) US")).map((s) => s.url)).size).toBe(1);
  });

  it("leads a shared rule with the course drug's own label", () => {
    expect(sourcesOfRule("abnormal.anc-low", DEFAULT_RULES, "upadacitinib")[0]!.label).toMatch(/^Rinvoq \(upadacitinib\) US Prescribing Information/);
    expect(sourcesOfRule("abnormal.anc-low", DEFAULT_RULES, "abrocitinib")[0]!.label).toMatch(/^Cibinqo \(abrocitinib\) US Prescribing Information/);
    expect(sourcesOfRule("abnormal.anc-low", DEFAULT_RULES, "baricitinib")[0]!.label).toMatch(/^Olumiant EU SmPC, section 4\.2/);
    expect(sourcesOfRule("labs.baseline-missing", DEFAULT_RULES, "abrocitinib")[0]!.url).toContain("16c12a56-4550-414b-ac9d-b785b41fea6b");
    // A guideline-based rule leads with the guideline, then the drug's label.
    expect(sourcesOfRule("vaccination.no-zoster-before-oral-jak", DEFAULT_RULES, "baricitinib").map((s) => s.id)).toEqual(["acip-rzv-2022", "olumiant-eu-smpc-4.4", "rinvoq-eu-smpc-4.4", "cibinqo-eu-smpc-4.4"]);
    // Without a drug, the rule's own list, primary first.
    expect(sourcesOfRule("upadacitinib.week-16.non-response")[0]!.id).toBe("measure-up-2021");
    expect(sourcesOfRule("ruxolitinib-cream.quantity")[0]!.id).toBe("opzelura-us-pi-2.1");
  });

  it("falls back to the default rules, then the drug's label, then says no source is recorded", () => {
    const siteRules: RuleSet = { ...DEFAULT_RULES, rules: { ...DEFAULT_RULES.rules } };
    delete siteRules.rules["abnormal.alc-low"];
    siteRules.rules["site.custom"] = { ruleId: "site.custom", kind: "data-quality", severity: "info", message: "A site rule without sources of its own.", source: "site protocol", sources: [] };
    expect(sourcesOfRule("abnormal.alc-low", siteRules, "abrocitinib")[0]!.id).toBe("cibinqo-us-pi-labs");
    expect(sourcesOfRule("site.custom", siteRules, "baricitinib")[0]!.id).toBe("olumiant-eu-smpc-4.4");
    expect(sourcesOfRule("site.custom", siteRules)).toEqual([NO_SOURCE]);
    expect(sourcesOfRule("no.such-rule")).toEqual([NO_SOURCE]);
    const flag = ruleFlag(siteRules, "abnormal.alc-low", { value: "0.4", date: "2026-01-01", drug: "abrocitinib (Cibinqo)" }, { course: 0 }, "abrocitinib");
    expect(flag).toMatchObject({ ruleId: "abnormal.alc-low", severity: "critical", sourceLabel: RULE_SOURCES["cibinqo-us-pi-labs"]!.label, sourceUrl: RULE_SOURCES["cibinqo-us-pi-labs"]!.url });
  });
});

describe("flags on the generated cohort carry their rule's primary source", () => {
  const COHORT = { patients: 100, seed: 11, asOf: "2026-11-01" };
  const evaluations: PatientEvaluation[] = [];
  beforeAll(() => {
    for (const patient of generateCohort(COHORT)) {
      evaluations.push(evaluatePatient(patient.resources, { asOf: COHORT.asOf, patientId: patient.patientId, details: false }));
    }
  });
  const drugOf = (e: PatientEvaluation, f: Flag): DrugId | undefined => (f.course === undefined ? undefined : e.courses[f.course]?.drug);

  it("sets sourceLabel and sourceUrl on every flag to the primary source for the flag's course drug", () => {
    let checked = 0;
    for (const e of evaluations) {
      for (const f of e.flags) {
        const primary = sourcesOfRule(f.ruleId, DEFAULT_RULES, drugOf(e, f))[0]!;
        expect({ ruleId: f.ruleId, sourceLabel: f.sourceLabel, sourceUrl: f.sourceUrl }, e.patientId).toEqual({ ruleId: f.ruleId, sourceLabel: primary.label, sourceUrl: primary.url });
        expect(f.sourceUrl.startsWith("https://"), f.ruleId).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("covers most kinds of rule, and links a shared rule to different labels for different drugs", () => {
    const ruleIds = new Set(evaluations.flatMap((e) => e.flags.map((f) => f.ruleId)));
    const kinds = new Set(evaluations.flatMap((e) => e.flags.map((f) => f.kind)));
    expect(ruleIds.size).toBeGreaterThanOrEqual(10);
    for (const kind of ["non-response", "early-signal", "missing-lab", "abnormal-lab", "vaccination"]) expect(kinds, kind).toContain(kind);
    const urlsByDrug = new Map<string, Set<string>>();
    for (const e of evaluations) {
      for (const f of e.flags.filter((x) => x.ruleId === "labs.baseline-missing")) {
        const drug = drugOf(e, f)!;
        urlsByDrug.set(drug, (urlsByDrug.get(drug) ?? new Set()).add(f.sourceUrl));
      }
    }
    const urls = new Set([...urlsByDrug.values()].flatMap((s) => [...s]));
    expect(urlsByDrug.size).toBeGreaterThanOrEqual(2);
    expect(urls.size).toBe(urlsByDrug.size);
  });
});
