import { existsSync } from "node:fs";
import path from "node:path";

// shared/ sits beside the clone (CI and developer machines); /work/shared is where this workplace mounts it.
const CANDIDATE_DIRS = [process.env.EJM_SHARED_DIR, path.resolve(process.cwd(), "..", "shared"), "/work/shared"];

/** Path of a real-world fixture from shared/fixtures; throws (never skips) when it cannot be found. */
export function sharedFixturePath(name: string): string {
  for (const dir of CANDIDATE_DIRS) {
    if (!dir) continue;
    const file = path.join(dir, "fixtures", name);
    if (existsSync(file)) return file;
  }
  throw new Error(`shared fixture ${name} not found: put shared/ beside the repository or set EJM_SHARED_DIR`);
}

export const SYNTHEA_CHILD_AD = "synthea-child-atopic-dermatitis.json";
