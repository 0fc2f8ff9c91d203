import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  CopyRowEncoder,
  encodeCopyKeys,
  instantMicros,
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

  it("drops a lastUpdated that is not a FHIR instant PostgreSQL accepts (it would abort the COPY) but keeps the resource", () => {
    for (const lastUpdated of ["yesterday", "2026-02-30T10:00:00Z", "2016-12-31T23:59:60.5Z"]) {
      const parsed = parseResourceLine(JSON.stringify({ resourceType: "Condition", id: "c", meta: { lastUpdated } }));
      expect(parsed.ok && parsed.row.lastUpdated, lastUpdated).toBeNull();
    }
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

  it("takes the Bundle's time when an entry's lastModified is no instant PostgreSQL accepts", () => {
    const line = JSON.stringify({
      resourceType: "Bundle",
      timestamp: "2026-02-01T00:00:00Z",
      entry: [{ request: { method: "DELETE", url: "Observation/o1" }, response: { lastModified: "2026-02-30T00:00:00Z" } }],
    });
    expect(parseDeletedLine(line)).toEqual({ ok: true, entries: [{ resourceType: "Observation", id: "o1", deletedAt: "2026-02-01T00:00:00Z" }] });
  });

  it("reports lines that delete nothing", () => {
    expect(parseDeletedLine('{"resourceType":"Observation","id":"o"}').ok).toBe(false);
    expect(parseDeletedLine('{"resourceType":"Bundle","entry":[{"request":{"method":"DELETE","url":"nonsense"}}]}').ok).toBe(false);
    expect(parseDeletedLine("{").ok).toBe(false);
  });
});

describe("instantMicros", () => {
  const micros = (iso: string) => BigInt(Date.parse(iso) - Date.parse("2000-01-01T00:00:00Z")) * 1000n;

  it("reads an instant as microseconds since 2000-01-01 UTC, with its offset, before 2000 and after", () => {
    expect(instantMicros("2000-01-01T00:00:00Z")).toBe(0n);
    expect(instantMicros("2026-01-02T03:04:05.678Z")).toBe(micros("2026-01-02T03:04:05.678Z"));
    expect(instantMicros("2026-01-02T03:04:05+05:30")).toBe(micros("2026-01-01T21:34:05Z"));
    expect(instantMicros("1969-07-20T20:17:40-00:00")).toBe(micros("1969-07-20T20:17:40Z"));
    expect(instantMicros("0001-01-01T00:00:00Z")).toBe(-63082281600000000n);
    expect(instantMicros("2024-02-29T12:00:00Z")).toBe(micros("2024-02-29T12:00:00Z"));
  });

  it("rounds the fraction to microseconds, halves to even, as PostgreSQL does", () => {
    expect(instantMicros("2000-01-01T00:00:00.1234564Z")).toBe(123456n);
    expect(instantMicros("2000-01-01T00:00:00.1234566Z")).toBe(123457n);
    expect(instantMicros("2000-01-01T00:00:00.0000005Z")).toBe(0n);
    expect(instantMicros("2000-01-01T00:00:00.0000015Z")).toBe(2n);
  });

  it("carries a leap second into the next minute", () => {
    expect(instantMicros("2016-12-31T23:59:60Z")).toBe(micros("2017-01-01T00:00:00Z"));
    expect(instantMicros("2016-12-31T23:59:60.0000004Z")).toBe(micros("2017-01-01T00:00:00Z"));
  });

  it("is null for what is no FHIR instant or one PostgreSQL refuses", () => {
    for (const value of ["2026-01-02", "2026-01-02T03:04Z", "2026-01-02T03:04:05", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "1900-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "2016-12-31T23:59:60.5Z", "2026-01-02T24:00:00Z", "2026-01-02T03:04:05+15:00"]) {
      expect(instantMicros(value), value).toBeNull();
    }
  });
});

describe("CopyRowEncoder", () => {
  const row = (id: string, patientId: string, extra: Partial<{ versionId: string | null; lastUpdated: string | null }> = {}) => {
    const line = JSON.stringify({ resourceType: "Observation", id, note: "café \\ \"ok\" ✓", subject: patientId ? { reference: `Patient/${patientId}` } : undefined });
    const parsed = parseResourceLine(line);
    if (!parsed.ok) throw new Error("test line must parse");
    return { row: { ...parsed.row, versionId: null, lastUpdated: null, ...extra }, line };
  };
  const encode = (rows: { row: ReturnType<typeof row>["row"]; line: string }[], chunkBytes?: number) => {
    const chunks: Buffer[] = [];
    const encoder = new CopyRowEncoder("sourcé", 42n, (chunk) => chunks.push(Buffer.from(chunk)), chunkBytes);
    for (const item of rows) encoder.add(item.row, item.line);
    encoder.end();
    return chunks;
  };
  const int16 = (value: number) => Buffer.from([(value >> 8) & 0xff, value & 0xff]);
  const int32 = (value: number) => {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32BE(value);
    return buffer;
  };
  const int64 = (value: bigint) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64BE(value);
    return buffer;
  };
  const text = (value: string) => Buffer.concat([int32(Buffer.byteLength(value)), Buffer.from(value, "utf8")]);
  const header = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), int32(0), int32(0)]);

  it("writes COPY's binary format: header, each row's fields in COPY_COLUMNS order (NULL as -1), trailer", () => {
    const a = row("o1", "pt-1", { versionId: "3", lastUpdated: "2000-01-01T00:00:01.5Z" });
    const b = row("o2", "");
    const expected = Buffer.concat([
      header,
      ...[a, b].flatMap(({ row: r, line }) => [
        int16(9),
        text("sourcé"),
        int32(8),
        int64(42n),
        text(r.patientId),
        text(r.resourceType),
        text(r.id),
        r.versionId === null ? int32(-1) : text(r.versionId),
        r.lastUpdated === null ? int32(-1) : Buffer.concat([int32(8), int64(1_500_000n)]),
        text(r.contentHash),
        text(line),
      ]),
      int16(-1),
    ]);
    expect(Buffer.concat(encode([a, b])).equals(expected)).toBe(true);
  });

  it("hands on the stream in chunks of about the chunk size, in order, however large a row is", () => {
    const rows = Array.from({ length: 50 }, (_, i) => row(`o${i}`, `pt-${i % 3}`));
    rows.push({ ...rows[0]!, line: rows[0]!.line.replace("café", "é".repeat(400_000)) });
    const whole = Buffer.concat(encode(rows, 1 << 30));
    const chunks = encode(rows, 1000);
    expect(chunks.length).toBeGreaterThan(5);
    expect(Buffer.concat(chunks).equals(whole)).toBe(true);
    expect(whole.length).toBeGreaterThan(800_000);
  });

  it("writes lastUpdated as PostgreSQL's 64-bit microseconds, for instants of any year", () => {
    const instants = ["0001-01-01T00:00:00+14:00", "1000-06-15T12:34:56.999999Z", "1969-12-31T23:59:59.9999995Z", "2000-01-01T00:00:00Z", "2000-01-01T01:11:34.967296Z", "2026-01-02T03:04:05.678-05:00", "9999-12-31T23:59:59.999999-14:00"];
    for (let i = 0; i < 200; i++) {
      const year = String(1 + ((i * 7919) % 9999)).padStart(4, "0");
      instants.push(`${year}-0${1 + (i % 9)}-1${i % 10}T${String(i % 24).padStart(2, "0")}:${String((i * 7) % 60).padStart(2, "0")}:${String((i * 13) % 60).padStart(2, "0")}.${String((i * 104729) % 1_000_000).padStart(6, "0")}Z`);
    }
    for (const lastUpdated of instants) {
      const [chunk] = encode([row("o1", "pt-1", { lastUpdated })]);
      const micros = instantMicros(lastUpdated);
      expect(micros, lastUpdated).not.toBeNull();
      // The field follows the header, the prefix (2 + 4 + 7 + 4 + 8 bytes) and three text fields and a NULL version.
      const at = header.length + 25 + text("pt-1").length + text("Observation").length + text("o1").length + 4;
      expect(chunk!.readInt32BE(at), lastUpdated).toBe(8);
      expect(chunk!.readBigInt64BE(at + 4), lastUpdated).toBe(micros);
    }
  });

  it("encodes the keys of rows for the search for moved resources, Patients left out", () => {
    const a = row("o1", "pt-1", { versionId: "3", lastUpdated: "2000-01-01T00:00:01.5Z" });
    const patient = parseResourceLine(JSON.stringify({ resourceType: "Patient", id: "pt-1" }));
    if (!patient.ok) throw new Error("test line must parse");
    const expected = Buffer.concat([header, int16(5), text("pt-1"), text("Observation"), text("o1"), text("3"), int32(8), int64(1_500_000n), int16(-1)]);
    expect(encodeCopyKeys([patient.row, a.row]).equals(expected)).toBe(true);
  });

  it("refuses a row whose lastUpdated PostgreSQL would refuse (rows come from parseResourceLine)", () => {
    expect(() => encode([row("o1", "pt-1", { lastUpdated: "2026-02-30T00:00:00Z" })])).toThrow(/lastUpdated/);
  });
});
