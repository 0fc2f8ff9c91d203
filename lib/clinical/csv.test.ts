import { describe, expect, it } from "vitest";
import { csvField, toCsv } from "./csv";

describe("CSV", () => {
  it.each([
    ["plain", "plain"],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    ["cr\rhere", '"cr\rhere"'],
    [12, "12"],
    [null, ""],
    [undefined, ""],
  ])("csvField(%j) = %j", (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it("lists a patient without courses on a row of its own", () => {
    const csv = toCsv({ asOf: "2026-11-01", rulesVersion: "x", patients: [{ patientId: "p,1", courses: [], flags: [], dataQuality: [] }] });
    expect(csv.split("\r\n")[1]).toBe('"p,1",,,,,,patient,,no-course,,,,,,,,,');
  });
});
