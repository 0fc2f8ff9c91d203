import path from "node:path";
import { defineConfig } from "prisma/config";

// The schema engine binary cannot be downloaded here; `prisma generate` only needs the variable to name a file.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.resolve("package.json");

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/unused" },
});
