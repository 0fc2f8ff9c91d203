// `npm test`: every quality gate in order (typecheck, lint, unit, integration, build, e2e), then one summary line
// "N passed, N failed". Steps keep going after a failure so one run shows everything; the exit code is 1 on any.
import { spawn } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../app/app-server";
import { ensureChromium, ensureDebianTool } from "../app/chromium";

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

async function vitestStep(name: string, config: string, timeoutMs: number): Promise<StepResult> {
  const started = Date.now();
  const out = path.join(RESULTS_DIR, `${name}.json`);
  const code = await run(bin("vitest"), ["run", "--config", config, "--reporter=default", "--reporter=json", `--outputFile.json=${out}`], timeoutMs);
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

async function main(): Promise<void> {
  const started = Date.now();
  await rm(RESULTS_DIR, { recursive: true, force: true });
  await mkdir(RESULTS_DIR, { recursive: true });
  const results: StepResult[] = [];
  const minutes = (n: number): number => n * 60_000;

  results.push(await gate("typecheck", bin("tsc"), ["--noEmit"], minutes(5)));
  results.push(await gate("lint", bin("eslint"), [".", "--max-warnings=0"], minutes(5)));
  // The PDF export test renders a page with poppler-utils' pdftoppm.
  const popplerProblem = await ensureDebianTool("/usr/bin/pdftoppm", "poppler-utils", run);
  if (popplerProblem) console.error(`[test] ${popplerProblem} (the PDF page test is skipped without it)`);
  results.push(await vitestStep("unit", "vitest.config.ts", minutes(8)));
  results.push(await vitestStep("integration", "vitest.integration.config.ts", minutes(12)));
  const build = await gate("build", bin("next"), ["build"], minutes(8));
  results.push(build);

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
  console.log("\n step         passed  failed  skipped  seconds");
  for (const r of results) {
    console.log(` ${r.name.padEnd(12)} ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.skipped).padStart(7)}  ${r.seconds.toFixed(1).padStart(7)}${r.note ? `  (${r.note})` : ""}`);
  }
  console.log(` total time ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}

await main();
