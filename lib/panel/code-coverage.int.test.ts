import { createHash } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool } from "../db/pool";
import { startTestDatabase, type TestDatabase } from "../db/testing";
import { computeCodeCoverageViews, readCodeCoverage, readCodeCoverageView, type CodeCoverage } from "./code-coverage";
import { addCodeMapping, CodeMappingError, findPatientsWithCode, listCodeMappings, reevaluatePatientsWithCode, removeCodeMapping } from "./code-mappings";
import { handleCodeCoverageGet, handleCodeMappingDelete, handleCodeMappingPost, type CodeHandlerDeps, type CodeJobs } from "./panel-handlers";

const LOINC = "http://loinc.org";
const ATC = "http://www.whocc.no/atc";
const FLOWSHEET = "urn:oid:1.2.840.114350.1.13.0.1.7.2.768282";
const LOCAL_MED = "urn:oid:1.2.840.114350.1.13.0.1.7.2.698288";
const APP = "http://127.0.0.1:3000";

let db: TestDatabase;
let pool: pg.Pool;

async function insertResource(source: string, patientId: string, resource: Record<string, unknown>, deleted = false): Promise<void> {
  const json = JSON.stringify(resource);
  await pool.query(
    `insert into fhir_resources (source, patient_id, resource_type, id, content_hash, deleted, resource) values ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
    [source, patientId, resource.resourceType, resource.id, createHash("sha1").update(json).digest("hex"), deleted, json],
  );
}

const observation = (id: string, patient: string, code: { system: string; code: string; display?: string }, value = 5) => ({
  resourceType: "Observation",
  id,
  status: "final",
  subject: { reference: `Patient/${patient}` },
  code: { coding: [code] },
  effectiveDateTime: "2026-10-01",
  valueQuantity: { value },
});
const localItch = { system: FLOWSHEET, code: "7702101", display: "Flowsheet row 7702101" };

beforeAll(async () => {
  db = await startTestDatabase();
  pool = createPool(db.url, 3);
  for (const [id, name] of [["clinic-a", "Clinic A"], ["clinic-b", "Clinic B"]]) {
    await pool.query(`insert into sources (id, name, fhir_base, client_id, group_id, updated_at) values ($1, $2, 'http://ehr.test/fhir', 'app', 'jak-panel', now())`, [id, name]);
  }
  // Clinic A: an ANC lab (LOINC), two local itch scores of one patient and one of another, one deleted itch score.
  await insertResource("clinic-a", "pt-1", observation("anc-1", "pt-1", { system: LOINC, code: "751-8", display: "Neutrophils" }, 3.1));
  await insertResource("clinic-a", "pt-2", observation("itch-1", "pt-2", localItch, 7));
  await insertResource("clinic-a", "pt-2", observation("itch-2", "pt-2", localItch, 4));
  await insertResource("clinic-a", "pt-3", observation("itch-3", "pt-3", localItch, 2));
  await insertResource("clinic-a", "pt-4", observation("itch-gone", "pt-4", localItch, 9), true);
  // A prescription through a contained Medication coded by ATC, and one through a shared Medication with a local code.
  await insertResource("clinic-a", "pt-1", {
    resourceType: "MedicationRequest",
    id: "rx-1",
    status: "active",
    intent: "order",
    subject: { reference: "Patient/pt-1" },
    contained: [{ resourceType: "Medication", id: "m", code: { coding: [{ system: ATC, code: "L04AF03", display: "upadacitinib" }] } }],
    medicationReference: { reference: "#m" },
    authoredOn: "2026-06-01",
  });
  await insertResource("clinic-a", "", { resourceType: "Medication", id: "med-local", code: { coding: [{ system: LOCAL_MED, code: "9183350", display: "CIBQ 50 TAB" }] } });
  await insertResource("clinic-a", "pt-5", {
    resourceType: "MedicationStatement",
    id: "ms-1",
    status: "active",
    subject: { reference: "Patient/pt-5" },
    medicationReference: { reference: "Medication/med-local" },
    effectivePeriod: { start: "2026-06-01" },
  });
  // Clinic B carries the same local itch code for one patient.
  await insertResource("clinic-b", "pt-9", observation("itch-b", "pt-9", localItch, 6));
  // What the evaluations and syncs recorded.
  await pool.query(
    `insert into evaluations (source, patient_id, as_of, rules_version, on_jak, flag_kinds, result) values
       ('clinic-a', 'pt-2', '2026-11-01', 'test', false, '{}', $1::jsonb), ('clinic-a', 'pt-3', '2026-11-01', 'test', false, '{}', $2::jsonb)`,
    [
      JSON.stringify({ dataQuality: [{ resource: "Observation/x1", issue: "no-date", detail: "Observation has no effective date or issued time." }, { resource: "MedicationRequest/r", issue: "intent-proposal", detail: "proposal" }] }),
      JSON.stringify({ dataQuality: [{ resource: "Observation/x2", issue: "no-date", detail: "Observation has no effective date or issued time." }] }),
    ],
  );
  const run = await pool.query<{ id: string }>(`insert into sync_runs (source, kind, status) values ('clinic-a', 'full', 'succeeded') returning id::text as id`);
  await pool.query(`insert into sync_issues (run_id, source, file, line, issue, detail) values ($1, 'clinic-a', 'Observation-1.ndjson', 17, 'malformed-json', 'Unexpected end of JSON input')`, [run.rows[0]!.id]);
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
});

describe("code coverage over synced resources", () => {
  it("counts a LOINC lab as matched and a local itch code as ignored, deleted resources left out", async () => {
    const coverage = await readCodeCoverage(pool, { source: "clinic-a" });
    expect(coverage.matched.find((r) => r.code === "751-8")).toMatchObject({ part: "Observation", concept: "lab:anc", how: "system-code", resources: 1 });
    expect(coverage.ignored.find((r) => r.code === "7702101")).toMatchObject({ part: "Observation", system: FLOWSHEET, reason: "no-concept", resources: 3 });
  });

  it("resolves contained and shared Medications the way the engine does", async () => {
    const coverage = await readCodeCoverage(pool, { source: "clinic-a" });
    expect(coverage.matched.find((r) => r.part === "MedicationRequest")).toMatchObject({ code: "L04AF03", concept: "drug:upadacitinib", resources: 1 });
    expect(coverage.ignored.filter((r) => r.code === "9183350").map((r) => [r.part, r.reason, r.resources]).sort()).toEqual([
      ["Medication", "not-tracked-therapy", 1],
      ["MedicationStatement", "not-tracked-therapy", 1],
    ]);
  });

  it("counts data-quality notes by issue and sync issues with where they were found", async () => {
    const coverage = await readCodeCoverage(pool, { source: "clinic-a" });
    expect(coverage.dataQuality[0]).toMatchObject({ resourceType: "Observation", issue: "no-date", notes: 2, patients: 2 });
    expect(coverage.dataQuality).toHaveLength(2);
    expect(coverage.syncIssues).toMatchObject([{ issue: "malformed-json", count: 1, runs: 1, example: "Observation-1.ndjson:17" }]);
    expect((await readCodeCoverage(pool, { source: "clinic-b" })).syncIssues).toEqual([]);
  });

  it("after a site mapping the local itch code matches through it, and the affected patients are listed per source", async () => {
    const mapping = await addCodeMapping(pool, { system: FLOWSHEET, code: "7702101", concept: "measure:itch", display: "Peak itch", createdBy: "Practitioner/lead-1" });
    expect(mapping).toMatchObject({ system: FLOWSHEET, code: "7702101", concept: "measure:itch", createdBy: "Practitioner/lead-1" });
    expect(await findPatientsWithCode(pool, FLOWSHEET, "7702101")).toEqual([
      { source: "clinic-a", patientIds: ["pt-2", "pt-3"] },
      { source: "clinic-b", patientIds: ["pt-9"] },
    ]);
    const coverage = await readCodeCoverage(pool, { source: "clinic-a" });
    expect(coverage.ignored.find((r) => r.code === "7702101")).toBeUndefined();
    expect(coverage.matched.find((r) => r.code === "7702101")).toMatchObject({ concept: "measure:itch", how: "site-mapping", resources: 3 });
    expect(coverage.mappings).toMatchObject([{ id: mapping.id, resources: 3, invalidConcept: false, shadowedBy: null }]);
    expect((await readCodeCoverage(pool, {})).mappings[0]?.resources).toBe(4);

    await expect(addCodeMapping(pool, { system: FLOWSHEET, code: "7702101", concept: "measure:pain", createdBy: null })).rejects.toMatchObject({ code: "already-mapped" });
    await expect(addCodeMapping(pool, { system: "urn:oid:2.16.840.1.113883.6.1", code: "751-8", concept: "measure:itch", createdBy: null })).rejects.toBeInstanceOf(CodeMappingError);

    expect(await removeCodeMapping(pool, mapping.id)).toMatchObject({ id: mapping.id, code: "7702101" });
    expect((await readCodeCoverage(pool, { source: "clinic-a" })).ignored.find((r) => r.code === "7702101")?.reason).toBe("no-concept");
    await expect(removeCodeMapping(pool, mapping.id)).rejects.toMatchObject({ code: "not-found" });
  });

  it("re-evaluates the patients with a code source by source, as the mapping job does", async () => {
    const calls: Array<[string, readonly string[] | null]> = [];
    const result = await reevaluatePatientsWithCode(pool, { system: FLOWSHEET, code: "7702101" }, async (source, ids) => (calls.push([source, ids]), ids?.length ?? 0));
    expect(calls).toEqual([
      ["clinic-a", ["pt-2", "pt-3"]],
      ["clinic-b", ["pt-9"]],
    ]);
    expect(result).toEqual({
      patients: 3,
      evaluated: 3,
      sources: [
        { source: "clinic-a", patients: 2, evaluated: 2, wholeSource: false },
        { source: "clinic-b", patients: 1, evaluated: 1, wholeSource: false },
      ],
    });
    expect(await reevaluatePatientsWithCode(pool, { system: FLOWSHEET, code: "no-such-code" }, async () => expect.unreachable())).toEqual({ patients: 0, evaluated: 0, sources: [] });
  });

  it("finds the patients whose prescriptions reference a shared Medication with the code", async () => {
    expect(await findPatientsWithCode(pool, LOCAL_MED, "9183350")).toEqual([{ source: "clinic-a", patientIds: ["pt-5"] }]);
    expect(await findPatientsWithCode(pool, "urn:oid:other", "9183350")).toEqual([]);
  });
});

/** What a view holds apart from when and how fast it was computed. */
function content(coverage: CodeCoverage | undefined | null) {
  if (!coverage) return coverage;
  const { generatedAt: _generatedAt, scanMs: _scanMs, ...rest } = coverage;
  return rest;
}

describe("stored code-coverage views", () => {
  it("stores every source's view and the all-sources one from one pass, each equal to a fresh computation", async () => {
    const computed = await computeCodeCoverageViews(pool, { sourceId: null });
    expect(computed.views).toEqual(["clinic-a", "clinic-b", "*"]);
    for (const source of ["clinic-a", "clinic-b", null]) {
      const stored = await readCodeCoverageView(pool, source);
      expect(stored?.computedAt, String(source)).toBe(computed.computedAt.toISOString());
      expect(content(stored?.coverage), String(source)).toEqual(content(await readCodeCoverage(pool, { source })));
    }
    // The all-sources view adds the sources' counts: three local itch scores in clinic A and one in clinic B.
    expect((await readCodeCoverageView(pool, null))?.coverage.ignored.find((r) => r.code === "7702101")?.resources).toBe(4);
  });

  it("recomputes one source's view alone, and never replaces a view with one computed from older data", async () => {
    const before = await readCodeCoverageView(pool, null);
    const one = await computeCodeCoverageViews(pool, { sourceId: "clinic-b" });
    expect(one.views).toEqual(["clinic-b"]);
    expect((await readCodeCoverageView(pool, "clinic-b"))?.computedAt).toBe(one.computedAt.toISOString());
    expect(await readCodeCoverageView(pool, null)).toEqual(before);

    // A slower computation that read the data earlier finishes last: the newer view stays.
    await pool.query(`update computed_views set computed_at = computed_at + interval '1 hour', body = jsonb_set(body, '{scanMs}', '-1') where source = 'clinic-a'`);
    const newer = await readCodeCoverageView(pool, "clinic-a");
    await computeCodeCoverageViews(pool, { sourceId: "clinic-a" });
    expect(await readCodeCoverageView(pool, "clinic-a")).toEqual(newer);
  });

  it("is what GET /api/panel/code-coverage answers, with when it was computed", async () => {
    const requested: unknown[] = [];
    const codeJobs: CodeJobs = {
      requestCodeCoverage: async (input) => (requested.push(input), "00000000-0000-4000-8000-000000000001"),
      codeCoverageJob: async () => null,
      requestCodeReevaluation: async () => expect.unreachable(),
      codeReevaluationJob: async () => null,
    };
    const deps: CodeHandlerDeps = { ...handlerDeps(), codeJobs };
    const response = await handleCodeCoverageGet(new Request(`${APP}/api/panel/code-coverage?source=clinic-b`), deps);
    const stored = await readCodeCoverageView(pool, "clinic-b");
    expect(await response.json()).toEqual({ source: "clinic-b", computedAt: stored!.computedAt, coverage: stored!.coverage, job: null, problem: null });
    expect(requested).toEqual([]);
  });
});

function handlerDeps(): Omit<CodeHandlerDeps, "codeJobs"> {
  return {
    pool,
    appOrigin: () => APP,
    authorize: async () => ({ practitionerId: "Practitioner/lead-2", role: "clinic-lead" }),
    queue: { requestSync: async () => expect.unreachable(), requestCancel: async () => expect.unreachable(), requestEvaluation: async () => expect.unreachable() },
  };
}

describe("the code-mappings API", () => {
  it("adds a mapping and queues its re-evaluation job, audits it, and removes it the same way", async () => {
    const reevaluations: Array<{ system: string; code: string; reason: string }> = [];
    const codeJobs: CodeJobs = {
      requestCodeCoverage: async () => expect.unreachable(),
      codeCoverageJob: async () => null,
      requestCodeReevaluation: async (input) => (reevaluations.push(input), `00000000-0000-4000-8000-00000000000${reevaluations.length}`),
      codeReevaluationJob: async () => null,
    };
    const deps: CodeHandlerDeps = { ...handlerDeps(), codeJobs };
    const post = new Request(`${APP}/api/panel/code-mappings`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: APP },
      body: JSON.stringify({ system: FLOWSHEET, code: "7702101", concept: "measure:itch" }),
    });
    const added = await handleCodeMappingPost(post, deps);
    expect(added.status).toBe(201);
    const body = (await added.json()) as { mapping: { id: string }; reevaluationJobId: string; message: string };
    expect(body.reevaluationJobId).toBe("00000000-0000-4000-8000-000000000001");
    expect(body.message).toBe(`Mapping added. The re-evaluation of the patients with ${FLOWSHEET}|7702101 is queued.`);
    expect(reevaluations).toEqual([{ system: FLOWSHEET, code: "7702101", reason: `code-mapping-added:${body.mapping.id}` }]);
    expect((await listCodeMappings(pool)).map((m) => m.createdBy)).toEqual(["Practitioner/lead-2"]);

    const removed = await handleCodeMappingDelete(
      new Request(`${APP}/api/panel/code-mappings`, { method: "DELETE", headers: { "content-type": "application/json", origin: APP }, body: JSON.stringify({ id: body.mapping.id }) }),
      deps,
    );
    expect(removed.status).toBe(200);
    expect(reevaluations.map((r) => r.reason)).toEqual([`code-mapping-added:${body.mapping.id}`, `code-mapping-removed:${body.mapping.id}`]);
    const audit = await pool.query<{ actor: string; role: string; action: string; outcome: string; detail: Record<string, unknown> }>(
      `select actor, role, action, outcome, detail from audit_events where action like 'code-mapping-%' order by id`,
    );
    expect(audit.rows.map((r) => [r.actor, r.role, r.action, r.outcome, r.detail.code, r.detail.reevaluationQueued])).toEqual([
      ["Practitioner/lead-2", "clinic-lead", "code-mapping-add", "success", "7702101", true],
      ["Practitioner/lead-2", "clinic-lead", "code-mapping-remove", "success", "7702101", true],
    ]);
    // Codes and job ids only: no patient id reaches the audit log.
    expect(JSON.stringify(audit.rows)).not.toMatch(/pt-\d/);
  });
});
