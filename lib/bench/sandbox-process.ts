/** `npm run sandbox` in a child process for the bench sections that need the sandbox EHR over HTTP. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface SandboxProcess {
  fhirBase: string;
  launcherUrl: string;
  /** The process started (tsx's launcher; the sandbox runs in its child): for CPU and memory figures of its tree. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * `npm run sandbox` on a free port (tsx with this process's Node 22); resolves once it prints its URLs. `env` adds to
 * this process's environment (NODE_OPTIONS=--cpu-prof to profile it, say).
 */
export async function startSandboxProcess(args: string[], env: Record<string, string> = {}): Promise<SandboxProcess> {
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "lib/sandbox/main.ts"), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env, PORT: "0" },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  const urls = await new Promise<{ fhirBase: string; launcherUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox did not start: ${out.slice(-500)}`)), 120_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const fhirBase = /FHIR base \(iss\):\s+(\S+)/.exec(out)?.[1];
      const launcherUrl = /Launcher:\s+(\S+)/.exec(out)?.[1];
      if (fhirBase && launcherUrl) {
        clearTimeout(timer);
        resolve({ fhirBase, launcherUrl });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    void exited.then(() => reject(new Error(`sandbox exited: ${out.slice(-500)}`)));
  });
  return {
    ...urls,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
