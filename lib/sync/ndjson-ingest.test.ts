import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  copyText,
  isJsonbSafe,
  isOlder,
  medicationIdFromReference,
  parseDeletedLine,
  parseResourceLine,
  patientIdFromReference,
  patientIdOf,
} from "./ndjson-ingest";

describe("patientIdFromReference", () => {
  it("reads relative, absolute and versioned Patient references", () => {
    expect(patientIdFromReference("Patient/pt-1")).toBe("pt-1");
    expect(patientIdFromReference("https://ehr.example/fhir/r4/Patient/pt-1")).toBe("pt-1");
    expect(patientIdFromReference("Patient/pt-1/_history/3")).toBe("pt-1");
    expect(patientIdFromReference("http://x/fhir/Patient/A.b-9/_history/2")).toBe("A.b-9");
  });

  it("gives null for other references, contained ones and non-strings", () => {
    expect(patientIdFromReference("Group/g1")).toBeNull();
    expect(patientIdFromReference("#p1")).toBeNull();
    expect(patientIdFromReference("urn:uuid:8f1c")).toBeNull();
    expect(patientIdFromReference("MyPatient/x")).toBeNull();
    expect(patientIdFromReference(undefined)).toBeNull();
    expect(patientIdFromReference(42)).toBeNull();
  });
});

describe("patientIdOf", () => {
  it("is the Patient's own id", () => {
    expect(patientIdOf({ resourceType: "Patient", id: "pt-9" })).toBe("pt-9");
  });

  it("follows subject, then patient", () => {
    expect(patientIdOf({ resourceType: "Observation", id: "o", subject: { reference: "Patient/pt-1" } })).toBe("pt-1");
    expect(patientIdOf({ resourceType: "Immunization", id: "i", patient: { reference: "https://h/fhir/Patient/pt-2" } })).toBe("pt-2");
    expect(patientIdOf({ resourceType: "Observation", id: "o", subject: { reference: "Group/g" }, patient: { reference: "Patient/pt-3" } })).toBe("pt-3");
  });

  it("is empty outside a patient compartment", () => {
    expect(patientIdOf({ resourceType: "Medication", id: "m" })).toBe("");
    expect(patientIdOf({ resourceType: "Observation", id: "o", subject: { display: "no reference" } })).toBe("");
  });
});

describe("medicationIdFromReference", () => {
  it("reads stored Medication references but not contained ones", () => {
    expect(medicationIdFromReference("Medication/med-1")).toBe("med-1");
    expect(medicationIdFromReference("https://h/fhir/Medication/med-1/_history/2")).toBe("med-1");
    expect(medicationIdFromReference("#med-1")).toBeNull();
  });
});

describe("parseResourceLine", () => {
  it("gives the stored columns and the sha1 of the line as received", () => {
    const line = JSON.stringify({
      resourceType: "Observation",
      id: "obs-1",
      meta: { versionId: "3", lastUpdated: "2026-01-02T03:04:05.678Z" },
      subject: { reference: "Patient/pt-1" },
    });
    const parsed = parseResourceLine(line);
    expect(parsed).toEqual({
      ok: true,
      row: {
        resourceType: "Observation",
        id: "obs-1",
        patientId: "pt-1",
        versionId: "3",
        lastUpdated: "2026-01-02T03:04:05.678Z",
        contentHash: createHash("sha1").update(line).digest("hex"),
      },
    });
  });

  it("mirrors a Patient's display fields", () => {
    const parsed = parseResourceLine(JSON.stringify({ resourceType: "Patient", id: "pt-1", name: [{ use: "official", given: ["Ada"], family: "Lovelace" }], birthDate: "1990-05-01", gender: "female" }));
    expect(parsed.ok && parsed.row.patient).toEqual({ displayName: "Ada Lovelace", birthDate: "1990-05-01", sex: "female" });
  });

  it("drops a lastUpdated that is not a FHIR instant (it would abort the COPY) but keeps the resource", () => {
    const parsed = parseResourceLine(JSON.stringify({ resourceType: "Condition", id: "c", meta: { lastUpdated: "yesterday" } }));
    expect(parsed.ok && parsed.row.lastUpdated).toBeNull();
  });

  it("names why a line cannot be stored", () => {
    const issue = (line: string) => {
      const parsed = parseResourceLine(line);
      return parsed.ok ? null : parsed.issue.issue;
    };
    expect(issue('{"resourceType":"Observation","id":"o1"')).toBe("malformed-json");
    expect(issue("[1,2]")).toBe("not-a-resource");
    expect(issue('{"id":"x"}')).toBe("missing-resource-type");
    expect(issue('{"resourceType":"Observation"}')).toBe("missing-id");
    expect(issue('{"resourceType":"Observation","id":"has space"}')).toBe("missing-id");
    expect(issue('{"resourceType":"Observation","id":"o","note":"\\u0000"}')).toBe("unsupported-json");
  });
});

describe("isJsonbSafe", () => {
  it("accepts ordinary escapes and surrogate pairs", () => {
    expect(isJsonbSafe('{"a":"plain"}')).toBe(true);
    expect(isJsonbSafe('{"a":"\\u00e9 \\ud83d\\ude00 \\\\u0000"}')).toBe(true);
  });

  it("refuses NUL and unpaired surrogates", () => {
    expect(isJsonbSafe('{"a":"\\u0000"}')).toBe(false);
    expect(isJsonbSafe('{"a":"\\ud83d"}')).toBe(false);
    expect(isJsonbSafe('{"a":"\\ud83dx"}')).toBe(false);
    expect(isJsonbSafe('{"a":"\\ude00"}')).toBe(false);
  });
});

describe("isOlder", () => {
  const copy = (lastUpdated: string | null, versionId: string | null) => ({ lastUpdated, versionId });

  it("orders by lastUpdated first", () => {
    expect(isOlder(copy("2026-01-01T00:00:00Z", "9"), copy("2026-01-02T00:00:00Z", "1"))).toBe(true);
    expect(isOlder(copy("2026-01-02T00:00:00Z", "1"), copy("2026-01-01T00:00:00Z", "9"))).toBe(false);
    // Same instant in another zone.
    expect(isOlder(copy("2026-01-01T01:00:00+01:00", "1"), copy("2026-01-01T00:00:00Z", "2"))).toBe(true);
  });

  it("then by numeric versionId", () => {
    expect(isOlder(copy("2026-01-01T00:00:00Z", "2"), copy("2026-01-01T00:00:00Z", "10"))).toBe(true);
    expect(isOlder(copy(null, "2"), copy(null, "10"))).toBe(true);
    expect(isOlder(copy(null, "10"), copy(null, "2"))).toBe(false);
  });

  it("is not older when the order is unknown", () => {
    expect(isOlder(copy(null, null), copy("2026-01-01T00:00:00Z", "1"))).toBe(false);
    expect(isOlder(copy("2026-01-01T00:00:00Z", "abc"), copy("2026-01-01T00:00:00Z", "def"))).toBe(false);
  });
});

describe("parseDeletedLine", () => {
  it("reads DELETE entries with relative or absolute request urls", () => {
    const line = JSON.stringify({
      resourceType: "Bundle",
      type: "transaction",
      meta: { lastUpdated: "2026-02-01T00:00:00Z" },
      entry: [
        { request: { method: "DELETE", url: "Observation/o1" } },
        { request: { method: "DELETE", url: "https://h/fhir/Condition/c1" }, response: { lastModified: "2026-02-03T00:00:00Z" } },
        { request: { method: "PUT", url: "Observation/o2" } },
      ],
    });
    expect(parseDeletedLine(line)).toEqual({
      ok: true,
      entries: [
        { resourceType: "Observation", id: "o1", deletedAt: "2026-02-01T00:00:00Z" },
        { resourceType: "Condition", id: "c1", deletedAt: "2026-02-03T00:00:00Z" },
      ],
    });
  });

  it("reports lines that delete nothing", () => {
    expect(parseDeletedLine('{"resourceType":"Observation","id":"o"}').ok).toBe(false);
    expect(parseDeletedLine('{"resourceType":"Bundle","entry":[{"request":{"method":"DELETE","url":"nonsense"}}]}').ok).toBe(false);
    expect(parseDeletedLine("{").ok).toBe(false);
  });
});

describe("copyText", () => {
  it("escapes what COPY's text format treats specially", () => {
    expect(copyText('{"a":"b\\\\c"}')).toBe('{"a":"b\\\\\\\\c"}');
    expect(copyText("a\tb\nc\rd")).toBe("a\\tb\\nc\\rd");
    expect(copyText("plain")).toBe("plain");
  });
});
