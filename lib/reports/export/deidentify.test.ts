import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base32, dateShiftDays, deidentificationNote, deidentifier, pseudonym, shiftDate } from "./deidentify";

const SECRET = "a test secret that is long enough for hkdf ok";
const OTHER_SECRET = "another test secret, also at least 32 bytes";
const daysBetween = (a: string, b: string) => (Date.parse(b.slice(0, 10)) - Date.parse(a.slice(0, 10))) / 86_400_000;

describe("base32", () => {
  it.each([
    ["", ""], ["f", "MY"], ["fo", "MZXQ"], ["foo", "MZXW6"], ["foob", "MZXW6YQ"], ["fooba", "MZXW6YTB"], ["foobar", "MZXW6YTBOI"],
  ])("encodes %j as RFC 4648 says (%j, without padding)", (text, expected) => {
    expect(base32(new TextEncoder().encode(text))).toBe(expected);
  });
});

describe("pseudonym", () => {
  it("is the same for the same patient and secret, in base32 of the default length", () => {
    const first = pseudonym(SECRET, "epic-main", "p-17");
    expect(pseudonym(SECRET, "epic-main", "p-17")).toBe(first);
    expect(first).toMatch(/^[A-Z2-7]{16}$/);
  });

  it("keeps its value across versions (a changed derivation would break links between exports)", () => {
    expect(pseudonym(SECRET, "epic-main", "p-17")).toBe("5CFX54R6TEBKEBZW");
  });

  it("differs by source, by patient and by secret", () => {
    const base = pseudonym(SECRET, "epic-main", "p-17");
    expect(pseudonym(SECRET, "cerner", "p-17")).not.toBe(base);
    expect(pseudonym(SECRET, "epic-main", "p-18")).not.toBe(base);
    expect(pseudonym(OTHER_SECRET, "epic-main", "p-17")).not.toBe(base);
  });

  it("keeps source and patient apart when their text could run together", () => {
    expect(pseudonym(SECRET, "ab", "c")).not.toBe(pseudonym(SECRET, "a", "bc"));
  });

  it("gives distinct pseudonyms to distinct patients", () => {
    const names = new Set(Array.from({ length: 2000 }, (_, i) => pseudonym(SECRET, "s", `p${i}`, 8)));
    expect(names.size).toBe(2000);
  });

  it("accepts the secret as bytes", () => {
    expect(pseudonym(new TextEncoder().encode(SECRET), "s", "p")).toBe(pseudonym(SECRET, "s", "p"));
  });

  it("refuses a short secret without echoing it", () => {
    expect(() => pseudonym("hunter2", "s", "p")).toThrow(/at least 32 bytes, got 7/);
    expect(() => pseudonym("hunter2", "s", "p")).not.toThrow(/hunter2/);
  });

  it.each([7, 53, 1.5])("refuses the length %s", (length) => {
    expect(() => pseudonym(SECRET, "s", "p", length)).toThrow(/pseudonym length/);
  });

  it("refuses an empty patient id", () => {
    expect(() => pseudonym(SECRET, "s", "")).toThrow(/must not be empty/);
  });
});

describe("dateShiftDays", () => {
  it("is the same for the same patient, never 0 and within the bound", () => {
    const shifts = Array.from({ length: 500 }, (_, i) => dateShiftDays(SECRET, "s", `p${i}`, 30));
    expect(shifts.every((d) => Number.isInteger(d) && d !== 0 && Math.abs(d) <= 30)).toBe(true);
    expect(dateShiftDays(SECRET, "s", "p1", 30)).toBe(shifts[1]);
    expect(shifts.some((d) => d < 0) && shifts.some((d) => d > 0)).toBe(true);
    expect(new Set(shifts).size).toBeGreaterThan(50); // of 60 possible values
    expect(shifts).toContain(30);
    expect(shifts).toContain(-30);
  });

  it("does not follow from the pseudonym key (another secret gives other shifts)", () => {
    const shifts = (secret: string) => Array.from({ length: 20 }, (_, i) => dateShiftDays(secret, "s", `p${i}`));
    expect(shifts(SECRET)).not.toEqual(shifts(OTHER_SECRET));
  });

  it.each([0, 3651, 2.5])("refuses maxShiftDays %s", (max) => {
    expect(() => dateShiftDays(SECRET, "s", "p", max)).toThrow(/maxShiftDays/);
  });
});

describe("shiftDate", () => {
  it.each([
    ["2024-02-28", 1, "2024-02-29"],
    ["2023-02-28", 1, "2023-03-01"],
    ["2023-12-31", 1, "2024-01-01"],
    ["2024-01-10", -20, "2023-12-21"],
    ["2026-03-01T10:15:00+02:00", 3, "2026-03-04T10:15:00+02:00"],
    ["2026-03-01T23:59:59.5Z", -1, "2026-02-28T23:59:59.5Z"],
  ])("moves %s by %i days to %s", (value, days, expected) => {
    expect(shiftDate(value, days)).toBe(expected);
  });

  it.each(["2026", "2026-03", "2026-02-30", "2026-03-01T10:15:00", "03/01/2026", ""])("cannot shift %j", (value) => {
    expect(shiftDate(value, 5)).toBeUndefined();
  });

  it("keeps the interval between any two dates", () => {
    const day = fc.integer({ min: Date.UTC(1950, 0, 1) / 86_400_000, max: Date.UTC(2060, 0, 1) / 86_400_000 })
      .map((n) => new Date(n * 86_400_000).toISOString().slice(0, 10));
    fc.assert(fc.property(day, day, fc.integer({ min: -3650, max: 3650 }), (a, b, shift) => {
      expect(daysBetween(shiftDate(a, shift)!, shiftDate(b, shift)!)).toBe(daysBetween(a, b));
      expect(daysBetween(a, shiftDate(a, shift)!)).toBe(shift);
    }));
  });
});

describe("deidentifier", () => {
  const deidentify = deidentifier({ secret: SECRET, dateFields: ["courseStart", "labDate"], keepFields: ["drug", "met"], maxShiftDays: 90 });
  const row = {
    sourceId: "epic-main", patientId: "pat-4711", name: "Jane Example", mrn: "MRN-99812",
    courseStart: "2026-01-05", labDate: "2026-02-02T09:00:00Z", drug: "abrocitinib", met: true,
  };

  it("outputs the pseudonym, the shifted dates and the kept fields only", () => {
    const out = deidentify(row);
    expect(Object.keys(out).sort()).toEqual(["courseStart", "drug", "labDate", "met", "pseudonym"]);
    expect(out.pseudonym).toBe(pseudonym(SECRET, "epic-main", "pat-4711"));
    expect(out).toMatchObject({ drug: "abrocitinib", met: true });
    const text = JSON.stringify(out);
    for (const identifying of ["pat-4711", "Jane", "Example", "MRN-99812", "epic-main", "2026-01-05"]) expect(text).not.toContain(identifying);
  });

  it("shifts all of a patient's dates by the patient's own offset, keeping intervals", () => {
    const out = deidentify(row);
    const shift = dateShiftDays(SECRET, "epic-main", "pat-4711", 90);
    expect(daysBetween(row.courseStart, out.courseStart!)).toBe(shift);
    expect(daysBetween(out.courseStart!, out.labDate!)).toBe(daysBetween(row.courseStart, row.labDate));
    expect(out.labDate).toMatch(/T09:00:00Z$/);
  });

  it("gives another row of the same patient the same pseudonym and shift", () => {
    const first = deidentify(row);
    const second = deidentify({ ...row, courseStart: "2026-01-06", drug: "upadacitinib" });
    expect(second.pseudonym).toBe(first.pseudonym);
    expect(daysBetween(first.courseStart!, second.courseStart!)).toBe(1);
  });

  it("writes null for missing dates and kept fields", () => {
    const out = deidentify({ sourceId: "s", patientId: "p" });
    expect(out).toMatchObject({ courseStart: null, labDate: null, drug: null, met: null });
  });

  it("names the field, not the value, of a date it cannot shift", () => {
    expect(() => deidentify({ ...row, labDate: "2026-02" })).toThrow(/date field "labDate" is not a full date/);
    expect(() => deidentify({ ...row, labDate: "2026-02" })).not.toThrow(/2026-02/);
  });

  it("refuses a kept field that holds the patient id", () => {
    expect(() => deidentify({ ...row, drug: "pat-4711" })).toThrow(/kept field "drug" holds the patient id/);
  });

  it.each(["name", "patientId", "familyName", "identifier", "phone", "postalCode", "id"])("refuses to keep the identifying field %s", (field) => {
    expect(() => deidentifier({ secret: SECRET, dateFields: [], keepFields: [field] })).toThrow(/may identify a patient/);
  });

  it("allows a field that only mentions a name of a thing", () => {
    expect(() => deidentifier({ secret: SECRET, dateFields: [], keepFields: ["drugName"] })).not.toThrow();
  });

  it("refuses a short secret before any row is read", () => {
    expect(() => deidentifier({ secret: "short", dateFields: [], keepFields: [] })).toThrow(/at least 32 bytes/);
  });

  it("describes the shift bound in its note", () => {
    expect(deidentificationNote(90)).toMatch(/up to 90 either way/);
  });
});
