import { defineConfig } from "vitest/config";
import path from "node:path";

// Integration tests boot real servers (embedded PostgreSQL, sandbox EHR): run them one file at a time.
export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    include: ["lib/**/*.int.test.ts", "app/**/*.int.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
