import { existsSync } from "node:fs";

/** Runs a command to completion with a time budget and extra environment; resolves with its exit code. */
export type RunCommand = (command: string, args: string[], timeoutMs: number, env?: Record<string, string | undefined>) => Promise<number>;

/**
 * A tool the tests need from a Debian package (Chromium for e2e: Playwright cannot download browsers here;
 * poppler-utils' pdftoppm for the PDF export test): installed with apt-get when it is missing and we are root;
 * otherwise a one-line instruction. Resolves with null when the tool is ready.
 */
export async function ensureDebianTool(toolPath: string, debianPackage: string, run: RunCommand, overrideHint = ""): Promise<string | null> {
  if (existsSync(toolPath)) return null;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync("/usr/bin/apt-get")) {
    console.log(`[test] ${toolPath} is missing: installing Debian's ${debianPackage} package (about a minute).`);
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    const installed =
      (await run("apt-get", ["update", "-qq"], 5 * 60_000, env)) === 0 &&
      (await run("apt-get", ["install", "-y", "-qq", debianPackage], 10 * 60_000, env)) === 0 &&
      existsSync(toolPath);
    if (installed) return null;
    return `Installing ${debianPackage} failed: run "apt-get update && apt-get install -y ${debianPackage}" as root${overrideHint}.`;
  }
  return `${toolPath} not found: run "sudo apt-get install -y ${debianPackage}" (Debian)${overrideHint}.`;
}

/** Debian's Chromium for the e2e tests. */
export function ensureChromium(chromiumPath: string, run: RunCommand): Promise<string | null> {
  return ensureDebianTool(chromiumPath, "chromium", run, ", or set CHROMIUM_PATH to a Chromium binary");
}
