import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

// The design's one hard rule for lib/clinical: pure code, checked by ESLint; these prove the rule bites.
const eslint = new ESLint();

async function clinicalErrors(code: string, file = "lib/clinical/example.ts"): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  return (result?.messages ?? []).filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

describe("lint keeps lib/clinical pure", () => {
  it.each([
    ['import { readFileSync } from "node:fs";\nexport const x = readFileSync;', "no IO modules"],
    ['import { PrismaClient } from "@prisma/client";\nexport const x = PrismaClient;', "no database"],
    ['import pg from "pg";\nexport const x = pg;', "no database"],
    ['import { useState } from "react";\nexport const x = useState;', "no framework"],
    ['import FHIR from "fhirclient";\nexport const x = FHIR;', "no IO modules"],
    ['import { x as y } from "../db/client";\nexport const x = y;', "no database"],
  ])("rejects %j", async (code, reason) => {
    const errors = await clinicalErrors(code);
    expect(errors.join("\n")).toContain(reason);
  });

  it.each([
    ["export const today = new Date();", "never reads the clock"],
    ["export const now = Date.now();", "never reads the clock"],
    ['export const r = fetch("https://example.org");', "no network"],
    ["export const env = process.env.X;", "no environment"],
  ])("rejects %j", async (code, reason) => {
    expect((await clinicalErrors(code)).join("\n")).toContain(reason);
  });

  it("accepts pure code, FHIR types and dates built from data", async () => {
    const code = 'import type { Observation } from "@medplum/fhirtypes";\nexport const day = (o: Observation): number => new Date(o.effectiveDateTime ?? "1970-01-01").getTime();';
    expect(await clinicalErrors(code)).toEqual([]);
  });

  it("allows IO outside lib/clinical", async () => {
    expect(await clinicalErrors('import { readFileSync } from "node:fs";\nexport const x = readFileSync;', "lib/cli/example.ts")).toEqual([]);
  });
});
