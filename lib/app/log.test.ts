import { afterEach, describe, expect, it } from "vitest";
import { captureLogs, createLogger, eventLogger, hashId, hashIdWith, lineLogger, logHashKey, logLevelFrom, resetLogHashKey } from "./log";

const SECRET_A = "a log hash secret of at least thirty-two bytes";
const SECRET_B = "another log hash secret of at least thirty-two bytes";

function parsed(lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

afterEach(() => {
  resetLogHashKey();
});

describe("logLevelFrom", () => {
  it("takes LOG_LEVEL when it names a pino level, in any case, and falls back to info", () => {
    expect(logLevelFrom({ LOG_LEVEL: "debug" })).toBe("debug");
    expect(logLevelFrom({ LOG_LEVEL: " WARN " })).toBe("warn");
    expect(logLevelFrom({ LOG_LEVEL: "silent" })).toBe("silent");
    expect(logLevelFrom({ LOG_LEVEL: "verbose" })).toBe("info");
    expect(logLevelFrom({})).toBe("info");
  });
});

describe("createLogger", () => {
  it("writes one JSON object per line with an ISO time, the level name and the app", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (line) => void lines.push(line) }, "info");
    log.info({ event: "sync.succeeded", runId: "12", inserted: 40 }, "sync.succeeded");
    log.debug({ event: "hidden" }, "below the level");
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith("\n")).toBe(true);
    const [line] = parsed(lines);
    expect(line).toMatchObject({ level: "info", app: "eczema-jak-monitor", event: "sync.succeeded", runId: "12", inserted: 40, msg: "sync.succeeded" });
    expect(String(line!.time)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it("hashes fields named like patient identifiers and censors other patient-data fields, at the top level and one level down", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (line) => void lines.push(line) }, "info");
    log.info({ event: "slip", patientId: "pt-000001", detail: { patient: "pt-000002", name: { given: ["Ada"] } }, birthDate: "1990-01-01" }, "slip");
    const text = lines.join("");
    expect(text).not.toContain("pt-000001");
    expect(text).not.toContain("pt-000002");
    expect(text).not.toContain("Ada");
    expect(text).not.toContain("1990-01-01");
    const [line] = parsed(lines);
    expect(line!.patientId).toBe(`hash:${hashId("pt-000001")}`);
    expect((line!.detail as Record<string, unknown>).name).toBe("[redacted]");
  });
});

describe("hashId", () => {
  it("is a keyed HMAC truncated to 24 hex characters: stable under one key, different under another, never the input", () => {
    const a = Buffer.from(SECRET_A);
    const b = Buffer.from(SECRET_B);
    expect(hashIdWith(a, "pt-000001")).toMatch(/^[0-9a-f]{24}$/);
    expect(hashIdWith(a, "pt-000001")).toBe(hashIdWith(a, "pt-000001"));
    expect(hashIdWith(a, "pt-000001")).not.toBe(hashIdWith(a, "pt-000002"));
    expect(hashIdWith(a, "pt-000001")).not.toBe(hashIdWith(b, "pt-000001"));
  });

  it("takes its key from LOG_HASH_SECRET, else from SESSION_SECRET (a different key than the secret itself), and refuses a short LOG_HASH_SECRET", () => {
    const fromLog = logHashKey({ LOG_HASH_SECRET: SECRET_A, SESSION_SECRET: SECRET_B });
    resetLogHashKey();
    const fromSession = logHashKey({ SESSION_SECRET: SECRET_B });
    resetLogHashKey();
    const sameSession = logHashKey({ SESSION_SECRET: SECRET_B });
    expect(fromLog.equals(fromSession)).toBe(false);
    expect(fromSession.equals(sameSession)).toBe(true);
    expect(fromSession.equals(Buffer.from(SECRET_B))).toBe(false);
    resetLogHashKey();
    expect(() => logHashKey({ LOG_HASH_SECRET: "short" })).toThrow(/at least 32 bytes/);
  });
});

describe("the process logger", () => {
  it("sends event logs to a captured destination, warn for failures and info otherwise, and restores the destination", () => {
    const capture = captureLogs();
    try {
      eventLogger("sync")("sync.succeeded", { runId: "1", inserted: 3 });
      eventLogger("cds")("cds-hook-failed", { error: "TypeError" });
      lineLogger("worker")("started: 1 source(s) configured");
    } finally {
      capture.restore();
    }
    const lines = parsed(capture.lines);
    expect(lines).toEqual([
      expect.objectContaining({ level: "info", component: "sync", event: "sync.succeeded", runId: "1", inserted: 3 }),
      expect.objectContaining({ level: "warn", component: "cds", event: "cds-hook-failed", error: "TypeError" }),
      expect.objectContaining({ level: "info", component: "worker", msg: "started: 1 source(s) configured" }),
    ]);
    const after = capture.lines.length;
    const second = captureLogs("silent");
    eventLogger("sync")("sync.run", { runId: "2" });
    second.restore();
    expect(second.lines).toEqual([]);
    expect(capture.lines.length).toBe(after);
  });
});
