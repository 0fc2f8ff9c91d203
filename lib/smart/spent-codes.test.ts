import { describe, expect, it } from "vitest";
import { spentCodeHash } from "./spent-codes";

describe("spent authorization code keys", () => {
  it("are a SHA-256 of issuer and code that does not contain the code, the same with or without a trailing slash", () => {
    const key = spentCodeHash("https://ehr.test/fhir", "code-123");
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).not.toContain("code-123");
    expect(spentCodeHash("https://ehr.test/fhir/", "code-123")).toBe(key);
  });

  it("differ between issuers and between codes, and cannot be made to collide by moving the separator", () => {
    const keys = [
      spentCodeHash("https://a.test/fhir", "x"),
      spentCodeHash("https://b.test/fhir", "x"),
      spentCodeHash("https://a.test/fhir", "y"),
      // These two would read the same joined by a newline.
      spentCodeHash("https://a.test/fhir\nx", "y"),
      spentCodeHash("https://a.test/fhir", "x\ny"),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});
