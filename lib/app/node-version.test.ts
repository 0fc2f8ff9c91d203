import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("the project's Node", () => {
  it("runs tests on Node 22.18 or newer, as package.json engines promise", () => {
    const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
    expect(major > 22 || (major === 22 && minor >= 18)).toBe(true);
    const engines = JSON.parse(readFileSync("package.json", "utf8")).engines.node as string;
    expect(engines).toBe(">=22.18");
  });
});
