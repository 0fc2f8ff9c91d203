import { describe, expect, it } from "vitest";
import { captureLogs, hashId } from "../app/log";
import { auditActor, auditOrigin, guardAuditEntry, patientEntity, recordAudit, REDACTED, tryRecordAudit, type AuditEntry } from "./audit";

function entry(over: Partial<AuditEntry> = {}): AuditEntry {
  return { actor: "Practitioner/d1", role: "dermatologist", action: "patient.view", outcome: "success", detail: {}, ...over };
}

/** A pg-like database that records the statements it gets. */
function fakePg(fail?: Error) {
  const calls: { sql: string; values: unknown[] }[] = [];
  return {
    calls,
    db: {
      async query(sql: string, values: unknown[] = []) {
        calls.push({ sql, values });
        if (fail) throw fail;
        return { rows: [] };
      },
    },
  };
}

describe("guardAuditEntry (the PHI rule)", () => {
  it("passes codes, counts, reason codes, hashed ids and booleans about patient context unchanged", () => {
    const detail = {
      measureId: "easi-75",
      period: { from: "2026-01-01", to: "2026-06-30" },
      filters: { drug: "upadacitinib", prescriber: "Practitioner/p1" },
      rows: 40,
      shared: false,
      patientContext: true,
      patientsChanged: 3,
      patient: hashId("pt-000001"),
      ruleIds: ["labs.baseline.tb", "abnormal.anc"],
    };
    const result = guardAuditEntry({ action: "report.export", entity: patientEntity("pt-000001"), detail });
    expect(result.redacted).toEqual([]);
    expect(result.detail).toEqual(detail);
    expect(result.entity).toBe(`patient:${hashId("pt-000001")}`);
  });

  it("redacts raw patient ids, names and birth dates under patient-data keys, and raw Patient references anywhere", () => {
    const result = guardAuditEntry({
      action: "patient.view",
      entity: "Patient/pt-000001",
      detail: {
        patientId: "pt-000001",
        name: "Ada Lovelace",
        birthDate: "1990-02-03",
        note: "called about itch",
        reference: "see Patient/pt-000002 for details",
        nested: { subject: { reference: "Patient/pt-000003" } },
        ok: "itch-nrs",
      },
    });
    expect(result.entity).toBe(REDACTED);
    expect(result.detail).toEqual({
      patientId: REDACTED,
      name: REDACTED,
      birthDate: REDACTED,
      note: REDACTED,
      reference: REDACTED,
      nested: { subject: REDACTED },
      ok: "itch-nrs",
    });
    expect(result.redacted.sort()).toEqual(["(entity)", "birthDate", "name", "nested.subject", "note", "patientId", "reference"]);
    expect(JSON.stringify(result)).not.toMatch(/pt-00000|Ada|1990-02-03/);
  });

  it("redacts values the caller declares sensitive wherever they appear, as a whole value, a token or a phrase", () => {
    const result = guardAuditEntry(
      { action: "cds.patient-view", entity: "cds-service:jak", detail: { hookInstance: "h1", error: "no data for pt-9 today", who: "Ada Lovelace was here", count: 9 } },
      ["pt-9", "Ada Lovelace"],
    );
    expect(result.detail).toEqual({ hookInstance: "h1", error: REDACTED, who: REDACTED, count: 9 });
  });

  it("drops keys that are not plain names, and redacts free text longer than 1000 characters and values nested too deep", () => {
    const result = guardAuditEntry({ action: "x", detail: { "bad key": 1, "pt-1 Ada": 2, long: "a".repeat(1001), a: { b: { c: { d: { e: 1 } } } } } });
    expect(result.detail).toEqual({ long: REDACTED, a: { b: { c: { d: REDACTED } } } });
    expect(result.redacted).toHaveLength(4);
  });

  it("refuses an entity that names a patient without the hash", () => {
    expect(guardAuditEntry({ action: "x", entity: "patient:pt-000001", detail: {} }).entity).toBe(REDACTED);
    expect(guardAuditEntry({ action: "x", entity: "Measure/easi-75", detail: {} }).entity).toBe("Measure/easi-75");
  });
});

describe("auditActor", () => {
  it("keeps practitioners and CDS clients, and hashes a patient who launched the app", () => {
    expect(auditActor("Practitioner/d1")).toBe("Practitioner/d1");
    expect(auditActor("https://ehr.example/fhir/Practitioner/d1")).toBe("https://ehr.example/fhir/Practitioner/d1");
    expect(auditActor("Patient/pt-000001")).toBe(`Patient/${hashId("pt-000001")}`);
    expect(auditActor("https://ehr.example/fhir/Patient/pt-1")).toBe(`https://ehr.example/fhir/Patient/${hashId("pt-1")}`);
    expect(auditActor("")).toBe("unknown");
  });
});

describe("auditOrigin", () => {
  it("takes the X-Forwarded-For chain (its last 5 hops that look like addresses: the proxies' own), else X-Real-IP, else null", () => {
    expect(auditOrigin(new Request("http://app/x", { headers: { "x-forwarded-for": "203.0.113.7, 10.0.0.2" } }))).toBe("203.0.113.7, 10.0.0.2");
    expect(auditOrigin(new Headers({ "x-forwarded-for": "::ffff:127.0.0.1" }))).toBe("::ffff:127.0.0.1");
    expect(auditOrigin(new Headers({ "x-real-ip": "198.51.100.1" }))).toBe("198.51.100.1");
    expect(auditOrigin(new Headers({ "x-forwarded-for": "<script>, 1.2.3.4" }))).toBe("1.2.3.4");
    expect(auditOrigin(new Headers({ "x-forwarded-for": "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6" }))).toBe("2.2.2.2, 3.3.3.3, 4.4.4.4, 5.5.5.5, 6.6.6.6");
    expect(auditOrigin(new Request("http://app/x"))).toBeNull();
    expect(auditOrigin(null)).toBeNull();
  });
});

describe("recordAudit", () => {
  it("inserts one row through pg with the detail as jsonb and the origin, keeping the column order the writers used", async () => {
    const pg = fakePg();
    await recordAudit(pg.db, entry({ entity: patientEntity("pt-1"), detail: { source: "main" }, origin: "203.0.113.7" }));
    expect(pg.calls).toHaveLength(1);
    expect(pg.calls[0]!.sql).toMatch(/^insert into audit_events \(actor, role, action, entity, outcome, detail, origin\)/);
    expect(pg.calls[0]!.values).toEqual(["Practitioner/d1", "dermatologist", "patient.view", `patient:${hashId("pt-1")}`, "success", '{"source":"main"}', "203.0.113.7"]);
  });

  it("goes through a Prisma client's raw statement when given one", async () => {
    const calls: unknown[][] = [];
    const prisma = { $executeRawUnsafe: async (...args: unknown[]) => (calls.push(args), 1) };
    await recordAudit(prisma, entry({ action: "launch", detail: { roleSource: "practitioner-role" } }));
    expect(calls).toHaveLength(1);
    expect(String(calls[0]![0])).toContain("insert into audit_events");
    expect(calls[0]!.slice(1)).toEqual(["Practitioner/d1", "dermatologist", "launch", null, "success", '{"roleSource":"practitioner-role"}', null]);
  });

  it("writes a row that broke the rule with the values redacted, lists them in phiGuard, and warns without the values", async () => {
    const pg = fakePg();
    const capture = captureLogs();
    try {
      await recordAudit(pg.db, entry({ detail: { patientId: "pt-000042", measure: "itch-nrs" } }));
    } finally {
      capture.restore();
    }
    expect(JSON.parse(String(pg.calls[0]!.values[5]))).toEqual({ patientId: REDACTED, measure: "itch-nrs", phiGuard: ["patientId"] });
    expect(capture.text()).toContain("audit-phi-guard");
    expect(capture.text()).not.toContain("pt-000042");
    expect(JSON.stringify(pg.calls)).not.toContain("pt-000042");
  });

  it("throws when the database refuses, while tryRecordAudit logs the kind and answers false", async () => {
    const refused = Object.assign(new Error("audit_events is append-only"), { code: "42501" });
    await expect(recordAudit(fakePg(refused).db, entry())).rejects.toThrow(/append-only/);
    const capture = captureLogs();
    let ok: boolean;
    try {
      ok = await tryRecordAudit(fakePg(refused).db, entry());
    } finally {
      capture.restore();
    }
    expect(ok).toBe(false);
    expect(JSON.parse(capture.lines[0]!)).toMatchObject({ level: "error", event: "audit-write-failed", action: "patient.view", sqlstate: "42501" });
  });
});
