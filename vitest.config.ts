import { defineConfig } from "vitest/config";
import path from "node:path";

// Unit tests are *.test.ts beside the code; integration tests (*.int.test.ts) need PostgreSQL or servers.
export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    include: ["lib/**/*.test.ts", "app/**/*.test.ts"],
    exclude: ["**/*.int.test.ts", "node_modules/**"],
    environment: "node",
    // Tests assert behaviour, not speed: a busy 2-core CI machine must not turn a slow generator run into a failure.
    testTimeout: 30_000,
  },
});
