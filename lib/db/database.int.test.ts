import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationStatus, readMigrations, applyMigrations } from "./migrate";
import { startTestDatabase, type TestDatabase } from "./testing";

describe("embedded PostgreSQL with migrations", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await startTestDatabase();
  });
  afterAll(async () => {
    await db?.stop();
  });

  it("applies every migration in prisma/migrations and records it", async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const status = await migrationStatus(client);
      const onDisk = (await readMigrations()).map((m) => m.name);
      expect(onDisk.length).toBeGreaterThan(0);
      expect(status.applied).toEqual(onDisk);
      expect(status.pending).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it("is idempotent: a second run applies nothing", async () => {
    const second = await applyMigrations(db.url);
    expect(second.applied).toEqual([]);
  });

  it("round-trips a row through Prisma with the pg adapter", async () => {
    const created = await db.prisma.auditEvent.create({
      data: { actor: "Practitioner/test", role: "quality", action: "export.csv", entity: "report:test", detail: { rows: 3 } },
    });
    const read = await db.prisma.auditEvent.findUniqueOrThrow({ where: { id: created.id } });
    expect(read.action).toBe("export.csv");
    expect(read.detail).toEqual({ rows: 3 });
    expect(read.at).toBeInstanceOf(Date);
  });

  it("stores FHIR resources as jsonb and queries inside them", async () => {
    await db.prisma.fhirResource.create({
      data: { source: "test", resourceType: "Observation", id: "obs-1", patientId: "pt-1", contentHash: "test", resource: { resourceType: "Observation", id: "obs-1", status: "final" } },
    });
    const rows = await db.prisma.$queryRaw<{ status: string }[]>`SELECT resource->>'status' AS status FROM fhir_resources WHERE source = 'test' AND id = 'obs-1'`;
    expect(rows).toEqual([{ status: "final" }]);
  });

  it("refuses a migration that was edited after it was applied, and applies a new one", async () => {
    const dir = path.join(os.tmpdir(), `ejm-migrations-${process.pid}`);
    await mkdir(path.join(dir, "20990101000000_probe"), { recursive: true });
    try {
      await writeFile(path.join(dir, "20990101000000_probe", "migration.sql"), "CREATE TABLE probe (id int);");
      expect((await applyMigrations(db.url, dir)).applied).toEqual(["20990101000000_probe"]);
      await writeFile(path.join(dir, "20990101000000_probe", "migration.sql"), "CREATE TABLE probe (id bigint);");
      await expect(applyMigrations(db.url, dir)).rejects.toThrow(/edited after it was applied/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rolls back a failing migration and records nothing", async () => {
    const dir = path.join(os.tmpdir(), `ejm-migrations-bad-${process.pid}`);
    await mkdir(path.join(dir, "20990102000000_bad"), { recursive: true });
    try {
      await writeFile(path.join(dir, "20990102000000_bad", "migration.sql"), "CREATE TABLE half_done (id int); SELECT no_such_function();");
      await expect(applyMigrations(db.url, dir)).rejects.toThrow(/20990102000000_bad failed/);
      const rows = await db.prisma.$queryRaw<{ t: string | null }[]>`SELECT to_regclass('half_done')::text AS t`;
      expect(rows[0]?.t).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
