import { describe, expect, it } from "vitest";
import { hashId } from "../app/log";
import { guardAuditEntry } from "./audit";
import { SYNC_ACTOR, syncedPatientViewEntry, syncFinishEntry, syncStartEntry } from "./events";

describe("audit entries built in one place", () => {
  it("records a panel drill-down by the clinic lead, the patient hashed, the outcome from the status", () => {
    const base = { actor: { practitionerId: "Practitioner/lead1", role: "clinic-lead" }, source: "main", patientId: "pt-000003", via: "api" as const, origin: "10.1.2.3" };
    const ok = syncedPatientViewEntry({ ...base, status: 200 });
    expect(ok).toEqual({
      actor: "Practitioner/lead1",
      role: "clinic-lead",
      action: "panel.patient-view",
      entity: `patient:${hashId("pt-000003")}`,
      outcome: "success",
      detail: { source: "main", status: 200, via: "api" },
      origin: "10.1.2.3",
    });
    expect(syncedPatientViewEntry({ ...base, status: 404, reason: "not-synced" })).toMatchObject({ outcome: "failure", detail: { reason: "not-synced" } });
    expect(syncedPatientViewEntry({ ...base, status: 403 }).outcome).toBe("refused");
    expect(guardAuditEntry(ok, ["pt-000003"]).redacted).toEqual([]);
    expect(JSON.stringify(ok)).not.toContain("pt-000003");
  });

  it("records a sync run's start and end as the system, with numeric counts and the error's kind only", () => {
    expect(syncStartEntry({ source: "main", runId: "7", kind: "incremental", trigger: "schedule", requestedBy: null, resumed: true })).toEqual({
      actor: SYNC_ACTOR,
      role: "system",
      action: "sync.start",
      entity: "sync-run:7",
      outcome: "success",
      detail: { source: "main", runId: "7", kind: "incremental", trigger: "schedule", requestedBy: null, resumed: true },
      origin: null,
    });
    const finished = syncFinishEntry({ source: "main", runId: "7", status: "succeeded", counts: { inserted: 40, resources: { Patient: 12 }, filesDone: 9 }, totalMs: 1234 });
    expect(finished).toMatchObject({ action: "sync.finish", outcome: "success", detail: { source: "main", runId: "7", status: "succeeded", inserted: 40, filesDone: 9, totalMs: 1234 } });
    expect(finished.detail).not.toHaveProperty("resources");
    expect(syncFinishEntry({ source: "main", runId: "8", status: "failed", error: "BulkExportError 503" })).toMatchObject({ outcome: "failure", detail: { status: "failed", error: "BulkExportError 503" } });
    expect(syncFinishEntry({ source: "main", runId: "9", status: "cancelled" }).outcome).toBe("success");
  });
});
