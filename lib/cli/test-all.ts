// `npm test`: every quality gate in order (lockfile, typecheck, lint, unit, integration, integration on the system PostgreSQL,
// build, e2e), then one summary line "N passed, N failed". Steps keep going after a failure so one run shows everything;
// the exit code is 1 on any.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../app/app-server";
import { ensureChromium, ensureDebianTool } from "../app/chromium";
import { findSystemServer, startSystemPostgres } from "../db/system-postgres";

interface StepResult {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
  note?: string;
}

const RESULTS_DIR = path.join(PROJECT_ROOT, "test-results");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const bin = (name: string): string => path.join(PROJECT_ROOT, "node_modules", ".bin", name);

function run(command: string, args: string[], timeoutMs: number, env: Record<string, string | undefined> = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env } });
    // A hung step must not eat CI's time: stop it (and only it) after its budget.
    const timer = setTimeout(() => {
      console.error(`\n[test] ${path.basename(command)} ${args.join(" ")} exceeded ${timeoutMs / 60000} min; stopping it.`);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal ? 1 : 0));
    });
    child.on("error", () => {
      clearTimeout(timer);
      resolve(127);
    });
  });
}

async function gate(name: string, command: string, args: string[], timeoutMs: number): Promise<StepResult> {
  const started = Date.now();
  const code = await run(command, args, timeoutMs);
  return { name, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0, seconds: (Date.now() - started) / 1000 };
}

async function vitestStep(name: string, config: string, timeoutMs: number, files: string[] = [], env: Record<string, string | undefined> = {}): Promise<StepResult> {
  const started = Date.now();
  const out = path.join(RESULTS_DIR, `${name}.json`);
  const code = await run(bin("vitest"), ["run", "--config", config, "--reporter=default", "--reporter=json", `--outputFile.json=${out}`, ...files], timeoutMs, env);
  const seconds = (Date.now() - started) / 1000;
  try {
    const report = JSON.parse(await readFile(out, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number; numFailedTestSuites: number };
    // A suite that fails to load has no failed test in it but must still count as a failure.
    const failed = report.numFailedTests + (code !== 0 && report.numFailedTests === 0 ? Math.max(1, report.numFailedTestSuites) : 0);
    return { name, passed: report.numPassedTests, failed, skipped: report.numPendingTests + report.numTodoTests, seconds };
  } catch {
    return { name, passed: 0, failed: 1, skipped: 0, seconds, note: "no report written" };
  }
}

async function playwrightStep(timeoutMs: number): Promise<StepResult> {
  const started = Date.now();
  const out = path.join(RESULTS_DIR, "e2e-results.json");
  const code = await run(bin("playwright"), ["test"], timeoutMs, { CHROMIUM_PATH: CHROMIUM });
  const seconds = (Date.now() - started) / 1000;
  try {
    const report = JSON.parse(await readFile(out, "utf8")) as { stats: { expected: number; unexpected: number; flaky: number; skipped: number }; errors?: unknown[] };
    const { expected, unexpected, flaky, skipped } = report.stats;
    const setupFailed = code !== 0 && unexpected === 0 ? 1 : 0;
    return { name: "e2e", passed: expected, failed: unexpected + flaky + setupFailed, skipped, seconds };
  } catch {
    return { name: "e2e", passed: 0, failed: 1, skipped: 0, seconds, note: "no report written" };
  }
}

/** The database integration tests that also run against the system's PostgreSQL (any 14+ must do). */
const SYSTEM_POSTGRES_TESTS = [
  "lib/db/resource-store.int.test.ts",
  "lib/db/backup.int.test.ts",
  "lib/sync/run-sync.int.test.ts",
  "lib/sync/evaluate-patients.int.test.ts",
  "lib/panel/queries.int.test.ts",
  "lib/panel/count-deltas.int.test.ts",
  "lib/sync/prepared-inputs.int.test.ts",
  "lib/panel/sync-status.int.test.ts",
  "lib/reports/report-queries.int.test.ts",
  "lib/cds/service.int.test.ts",
];

/**
 * The focused database tests against Debian's PostgreSQL (15 on Debian 12), not only the embedded 18: a throwaway
 * cluster on a free port, given to the tests as TEST_DATABASE_URL (each test gets its own database in it), stopped
 * and removed after. Skipped with a note when the package cannot be installed.
 */
async function systemPostgresStep(timeoutMs: number): Promise<StepResult> {
  let server = findSystemServer();
  let problem: string | null = null;
  if (!server) {
    problem = await ensureDebianTool("/usr/lib/postgresql/15/bin/postgres", "postgresql", run);
    server = findSystemServer();
  }
  if (!server) {
    const note = `skipped: ${problem ?? "no PostgreSQL 14+ server under /usr/lib/postgresql"}`;
    console.error(`[test] integration on the system PostgreSQL ${note}`);
    return { name: "integration-pg", passed: 0, failed: 0, skipped: 1, seconds: 0, note };
  }
  const name = `integration-pg${server.major}`;
  let cluster;
  try {
    cluster = await startSystemPostgres({ binDir: server.binDir });
  } catch (error) {
    return { name, passed: 0, failed: 1, skipped: 0, seconds: 0, note: `cluster did not start: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    return await vitestStep(name, "vitest.integration.config.ts", timeoutMs, SYSTEM_POSTGRES_TESTS, { TEST_DATABASE_URL: cluster.url });
  } finally {
    await cluster.stop();
  }
}

/** An install must not rewrite the committed lock (npm ci never does; npm install with an incomplete lock does). */
async function lockfileStep(): Promise<StepResult> {
  if (!existsSync(path.join(PROJECT_ROOT, ".git"))) return { name: "lockfile", passed: 0, failed: 0, skipped: 1, seconds: 0, note: "skipped: not a git checkout" };
  const result = await gate("lockfile", "git", ["diff", "--exit-code", "--stat", "--", "package-lock.json"], 60_000);
  if (result.failed) result.note = "package-lock.json differs from the commit: the install changed it (use npm ci, or commit a complete lock)";
  return result;
}

async function main(): Promise<void> {
  const started = Date.now();
  await rm(RESULTS_DIR, { recursive: true, force: true });
  await mkdir(RESULTS_DIR, { recursive: true });
  const results: StepResult[] = [];
  const minutes = (n: number): number => n * 60_000;

  results.push(await lockfileStep());
  results.push(await gate("typecheck", bin("tsc"), ["--noEmit"], minutes(5)));
  results.push(await gate("lint", bin("eslint"), [".", "--max-warnings=0"], minutes(5)));
  // The PDF export test renders a page with poppler-utils' pdftoppm.
  const popplerProblem = await ensureDebianTool("/usr/bin/pdftoppm", "poppler-utils", run);
  if (popplerProblem) console.error(`[test] ${popplerProblem} (the PDF page test is skipped without it)`);
  results.push(await vitestStep("unit", "vitest.config.ts", minutes(8)));
  // The build before the integration tests: the entry-point tests run `npm start` and `npm run demo` on it.
  const build = await gate("build", bin("next"), ["build"], minutes(8));
  results.push(build);
  results.push(await vitestStep("integration", "vitest.integration.config.ts", minutes(12)));
  results.push(await systemPostgresStep(minutes(6)));

  const chromiumProblem = await ensureChromium(CHROMIUM, run);
  if (chromiumProblem) {
    console.error(`[test] ${chromiumProblem}`);
    results.push({ name: "e2e", passed: 0, failed: 1, skipped: 0, seconds: 0, note: chromiumProblem });
  } else if (build.failed) {
    results.push({ name: "e2e", passed: 0, failed: 1, skipped: 0, seconds: 0, note: "skipped: the build failed" });
  } else {
    results.push(await playwrightStep(minutes(15)));
  }

  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const skipped = results.reduce((n, r) => n + r.skipped, 0);
  console.log("\n step              passed  failed  skipped  seconds");
  for (const r of results) {
    console.log(` ${r.name.padEnd(17)} ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.skipped).padStart(7)}  ${r.seconds.toFixed(1).padStart(7)}${r.note ? `  (${r.note})` : ""}`);
  }
  console.log(` total time ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}

await main();
