/**
 * The process tree of an entry point (`npm start`, `npm run demo`, `npm run worker`) and its shutdown.
 *
 * npm runs a script as npm -> `sh -c "<script>"` -> tsx's CLI -> this process. A signal sent to npm reaches `sh`,
 * which dies on SIGTERM and SIGHUP without passing it on, so this process also watches the launchers above it and
 * stops everything it started when one of them exits. Linux only (/proc); elsewhere the watch is a no-op.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** One-letter state from /proc/<pid>/stat ("Z": exited, not yet reaped). */
  state: string;
  /** Clock ticks since boot: tells a process from a later one that reused its PID. */
  startTime: string;
  argv: string[];
}

/** The process as /proc shows it now; null when it does not exist (or /proc is missing). */
export function readProcess(pid: number): ProcessInfo | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  let argv: string[] = [];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    // it exited between the two reads
  }
  return { pid, ppid: Number(fields[1]), state: fields[0] ?? "?", startTime: fields[19] ?? "", argv };
}

/** True while the process (the same one, not a PID reused since) has not exited. */
export function isRunning(info: Pick<ProcessInfo, "pid" | "startTime">): boolean {
  const now = readProcess(info.pid);
  return now !== null && now.state !== "Z" && now.state !== "X" && now.startTime === info.startTime;
}

const SHELLS = new Set(["sh", "bash", "dash", "zsh"]);

/** npm or npx, the `sh -c` npm runs a script in, or tsx's CLI (which runs the script in a child node). */
export function isLauncher(argv: readonly string[]): boolean {
  // npm sets its process title ("npm start"), which may land in argv[0] as one string.
  const first = (argv[0] ?? "").split(" ")[0] ?? "";
  const name = path.basename(first);
  if (name === "npm" || name === "npx") return true;
  if (SHELLS.has(name) && argv[1] === "-c") return true;
  if (/^node(js)?\d*$/.test(name)) {
    const script = argv.slice(1).find((arg) => !arg.startsWith("-"));
    if (!script) return false;
    if (/(^|\/)(npm|npx)(-cli\.js)?$/.test(script) || /\/npm\/bin\/np[mx]-cli\.js$/.test(script)) return true;
    if (/(^|\/)(\.bin\/)?tsx$/.test(script) || /\/tsx\/dist\/cli\.m?js$/.test(script)) return true;
  }
  return name === "tsx";
}

/** The launchers directly above `pid` (parent first, outermost last); stops at the first process that is not one. */
export function launcherAncestors(pid: number = process.pid): ProcessInfo[] {
  const chain: ProcessInfo[] = [];
  let current = readProcess(pid);
  while (current && current.ppid > 1) {
    const parent = readProcess(current.ppid);
    if (!parent || !isLauncher(parent.argv)) break;
    chain.push(parent);
    current = parent;
  }
  return chain;
}

/** Every process below `pid` (children, their children, ...), read from /proc. */
export function descendants(pid: number): ProcessInfo[] {
  let names: string[];
  try {
    names = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const byParent = new Map<number, ProcessInfo[]>();
  for (const name of names) {
    const info = readProcess(Number(name));
    if (!info) continue;
    const siblings = byParent.get(info.ppid) ?? [];
    siblings.push(info);
    byParent.set(info.ppid, siblings);
  }
  const found: ProcessInfo[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of byParent.get(queue.shift() as number) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** Calls onExit once, with the first of `processes` seen gone; polls /proc. Returns a function that stops the watch. */
export function watchForExit(processes: readonly ProcessInfo[], onExit: (gone: ProcessInfo) => void, intervalMs = 500): () => void {
  if (!processes.length) return () => {};
  const timer = setInterval(() => {
    const gone = processes.find((info) => !isRunning(info));
    if (!gone) return;
    clearInterval(timer);
    onExit(gone);
  }, intervalMs);
  // The watch alone must not keep the process alive.
  timer.unref();
  return () => clearInterval(timer);
}

export interface TreeShutdownOptions {
  log?: (line: string) => void;
  /** After this long, stop() is abandoned and the process exits; its exit hooks signal what is left (default 30 s). */
  forceExitAfterMs?: number;
  /** Watch the launchers above this process (default true). */
  watchLaunchers?: boolean;
}

export interface TreeShutdown {
  /**
   * From now on SIGINT, SIGTERM, SIGHUP, a launcher's exit or `exited` run stop() and then exit this process.
   * Before it is called, such an event exits at once: the children started so far end through their exit hooks.
   */
  setStop(stop: () => Promise<void>, exited?: Promise<number>): void;
}

const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** For entry points: one orderly shutdown of the whole tree, whatever asks for it; a signal a second later exits at once. */
export function stopTreeOnSignals(options: TreeShutdownOptions = {}): TreeShutdown {
  const log = options.log ?? ((line: string) => console.log(line));
  let stop: (() => Promise<void>) | undefined;
  let stoppingSince: number | null = null;
  const exitNow = (code: number) => process.exit(code);
  const shutdown = (reason: string, code: number, repeatable: boolean) => {
    if (stoppingSince !== null) {
      // Ctrl+C reaches this process from the terminal and again from tsx relaying it: only a later one insists.
      if (repeatable && Date.now() - stoppingSince > 1000) {
        log(`${reason} again: exiting now.`);
        exitNow(1);
      }
      return;
    }
    stoppingSince = Date.now();
    if (!stop) {
      log(`${reason} while starting: exiting.`);
      exitNow(code || 1);
      return;
    }
    log(`${reason}: stopping.`);
    const force = setTimeout(() => {
      log(`Still stopping after ${(options.forceExitAfterMs ?? 30_000) / 1000} s: exiting now.`);
      exitNow(1);
    }, options.forceExitAfterMs ?? 30_000);
    force.unref();
    stop().then(
      () => exitNow(code),
      (error: unknown) => {
        log(`Stopping failed: ${error instanceof Error ? error.message : String(error)}`);
        exitNow(1);
      },
    );
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, () => shutdown(signal, 0, true));
  if (options.watchLaunchers ?? true) {
    watchForExit(launcherAncestors(), (gone) => shutdown(`The launcher above this process (${path.basename((gone.argv[0] ?? "").split(" ")[0] ?? "")}, pid ${gone.pid}) exited`, 0, false));
  }
  return {
    setStop(next, exited) {
      stop = next;
      void exited?.then((code) => shutdown(`The app server exited (code ${code})`, code, false));
    },
  };
}
