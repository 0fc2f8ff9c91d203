import { existsSync } from "node:fs";

/** Runs a command to completion with a time budget and extra environment; resolves with its exit code. */
export type RunCommand = (command: string, args: string[], timeoutMs: number, env?: Record<string, string | undefined>) => Promise<number>;

/**
 * Debian's Chromium for the e2e tests (Playwright cannot download browsers here): installed with apt-get when it is
 * missing and we are root; otherwise a one-line instruction. Resolves with null when Chromium is ready.
 */
export async function ensureChromium(chromiumPath: string, run: RunCommand): Promise<string | null> {
  if (existsSync(chromiumPath)) return null;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync("/usr/bin/apt-get")) {
    console.log("[test] Chromium is missing: installing Debian's chromium package (about a minute).");
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    const installed =
      (await run("apt-get", ["update", "-qq"], 5 * 60_000, env)) === 0 &&
      (await run("apt-get", ["install", "-y", "-qq", "chromium"], 10 * 60_000, env)) === 0 &&
      existsSync(chromiumPath);
    if (installed) return null;
    return `Installing Chromium failed: run "apt-get update && apt-get install -y chromium" as root, or set CHROMIUM_PATH.`;
  }
  return `Chromium not found at ${chromiumPath}: run "sudo apt-get install -y chromium" (Debian) or set CHROMIUM_PATH to a Chromium binary.`;
}
