// Development only: writes prisma/migrations/<timestamp>_<name>/migration.sql for the change in prisma/schema.prisma.
// Prisma's CLI cannot migrate on these machines (its schema-engine binary is not on npm), so this drives Prisma's
// WebAssembly schema engine: it diffs the schema as of the last commit (or nothing, for the first migration)
// against the working copy. Usage: npm run db:migration -- <name> [--from <old schema file>]
import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import { makeTempDataDir, startEmbeddedPostgres } from "../db/embedded";
import { MIGRATIONS_DIR, readMigrations } from "../db/migrate";
import { loadSchemaEngine } from "../db/schema-engine";

const SCHEMA = path.resolve(import.meta.dirname, "../../prisma/schema.prisma");

function previousSchema(fromFile: string | undefined, hasMigrations: boolean): Promise<string | null> {
  if (fromFile) return readFile(fromFile, "utf8");
  if (!hasMigrations) return Promise.resolve(null);
  return Promise.resolve(execFileSync("git", ["show", "HEAD:prisma/schema.prisma"], { encoding: "utf8" }));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const name = args.find((a) => !a.startsWith("--") && args[args.indexOf(a) - 1] !== "--from");
  const fromIndex = args.indexOf("--from");
  const fromFile = fromIndex >= 0 ? args[fromIndex + 1] : undefined;
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    console.error("usage: npm run db:migration -- <snake_case_name> [--from <old schema.prisma>]");
    process.exit(2);
  }
  const existing = await readMigrations();
  const before = await previousSchema(fromFile, existing.length > 0);
  const after = await readFile(SCHEMA, "utf8");

  // The wasm engine needs a live connection even to diff two schema files.
  const dataDir = await makeTempDataDir("ejm-migration-");
  const db = await startEmbeddedPostgres({ dataDir: path.join(dataDir, "pg") });
  try {
    const engine = await loadSchemaEngine(bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: db.url })));
    const result = await engine.diff({
      from: before === null ? { tag: "empty" } : { tag: "schemaDatamodel", files: [{ path: "schema.prisma", content: before }] },
      to: { tag: "schemaDatamodel", files: [{ path: "schema.prisma", content: after }] },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    const sql = (result.stdout ?? "").trim();
    if (!sql || sql === "-- This is an empty migration.") {
      console.log("No schema changes: no migration written.");
      return;
    }
    const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
    const folder = path.join(MIGRATIONS_DIR, `${stamp}_${name}`);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, "migration.sql"), `${sql}\n`);
    await writeFile(path.join(MIGRATIONS_DIR, "migration_lock.toml"), 'provider = "postgresql"\n');
    console.log(`Wrote ${path.relative(process.cwd(), folder)}/migration.sql`);
  } finally {
    await db.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
