/**
 * Writes the engine's outcome-named fixtures (lib/clinical/fixtures/scenarios.ts) as JSON Bundles to
 * lib/clinical/fixtures/. Run after changing a scenario: npx tsx lib/cli/build-clinical-fixtures.ts
 */
import { readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scenarios, toBundle } from "../clinical/fixtures/scenarios";

const dir = join(import.meta.dirname, "..", "clinical", "fixtures");
for (const f of readdirSync(dir)) if (f.endsWith(".json")) unlinkSync(join(dir, f));
const list = scenarios();
for (const s of list) writeFileSync(join(dir, `${s.name}.json`), `${JSON.stringify(toBundle(s), null, 2)}\n`);
process.stdout.write(`wrote ${list.length} fixtures to ${dir}\n`);
