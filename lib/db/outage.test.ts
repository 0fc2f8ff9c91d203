import net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDatabaseUnavailable, noteDatabaseFailure, observeOutages, watchDatabaseOutages } from "./outage";

/** A loopback port nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function sqlError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, severity: "FATAL" });
}

describe("isDatabaseUnavailable", () => {
  it.each([
    ["a refused connection", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED", syscall: "connect", errno: -111 })],
    ["a refused connection inside an AggregateError (several addresses tried)", new AggregateError([Object.assign(new Error("refused"), { code: "ECONNREFUSED" })], "")],
    ["a server shutting down mid-query (57P01)", sqlError("57P01", "terminating connection due to administrator command")],
    ["a server starting up (57P03)", sqlError("57P03", "the database system is starting up")],
    ["a connection failure (class 08)", sqlError("08006", "connection failure")],
    ["too many connections (53300)", sqlError("53300", "sorry, too many clients already")],
    ["a connection cut without a code", new Error("Connection terminated unexpectedly")],
    ["no pool connection in time", new Error("timeout exceeded when trying to connect")],
    ["Prisma's cannot-reach error", Object.assign(new Error("Can't reach database server at 127.0.0.1:5432"), { code: "P1001" })],
    [
      "Prisma's raw-query error carrying the driver's 57P01",
      Object.assign(new Error("Raw query failed."), { code: "P2010", meta: { driverAdapterError: { name: "DriverAdapterError", cause: { kind: "postgres", originalCode: "57P01" } } } }),
    ],
    ["an adapter error whose cause is a closed connection", new Error("wrapped", { cause: { kind: "ConnectionClosed" } })],
  ])("says yes to %s", (_label, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ["a unique violation", sqlError("23505", "duplicate key value violates unique constraint")],
    ["Prisma's unique violation", Object.assign(new Error("Unique constraint failed"), { code: "P2002" })],
    ["a syntax error", sqlError("42601", "syntax error at or near")],
    ["a missing table", sqlError("42P01", 'relation "x" does not exist')],
    ["a bug", new TypeError("Cannot read properties of undefined")],
    ["a string", "ECONNREFUSED"],
    ["nothing", undefined],
  ])("says no to %s", (_label, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it("stops on an error whose cause points back at itself", () => {
    const error = new Error("loop") as Error & { cause?: unknown };
    error.cause = error;
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

describe("watchDatabaseOutages with an observed pool", () => {
  let pool: pg.Pool;

  beforeAll(async () => {
    pool = observeOutages(new pg.Pool({ host: "127.0.0.1", port: await closedPort(), user: "nobody", database: "none", connectionTimeoutMillis: 2000 }));
    pool.on("error", () => undefined);
  });

  afterAll(async () => {
    await pool.end();
  });

  it("notes an outage the work caught and hid", async () => {
    const result = await watchDatabaseOutages(async () => {
      const rows = await pool.query("SELECT 1").catch(() => null);
      return rows === null ? "hidden" : "read";
    });
    expect(result).toEqual({ ok: true, value: "hidden", outageSeen: true });
  });

  it("notes an outage met through a checked-out connection", async () => {
    const result = await watchDatabaseOutages(async () => {
      await pool.connect().catch(() => undefined);
      return 1;
    });
    expect(result.outageSeen).toBe(true);
  });

  it("gives the error of work that failed, outage or not", async () => {
    const outage = await watchDatabaseOutages(() => pool.query("SELECT 1"));
    expect(outage.ok).toBe(false);
    expect(outage.outageSeen).toBe(true);
    const bug = new TypeError("bug");
    expect(await watchDatabaseOutages(() => Promise.reject(bug))).toEqual({ ok: false, error: bug, outageSeen: false });
  });

  it("keeps one request's outage out of another running at the same time", async () => {
    const [failing, healthy] = await Promise.all([
      watchDatabaseOutages(() => pool.query("SELECT 1").catch(() => "hidden")),
      watchDatabaseOutages(async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return "fine";
      }),
    ]);
    expect(failing.outageSeen).toBe(true);
    expect(healthy).toEqual({ ok: true, value: "fine", outageSeen: false });
  });

  it("notes nothing outside a watched request, and nothing for other errors", async () => {
    expect(() => noteDatabaseFailure(new Error("Connection terminated unexpectedly"))).not.toThrow();
    const result = await watchDatabaseOutages(async () => {
      noteDatabaseFailure(sqlError("23505", "duplicate key"));
      return 1;
    });
    expect(result.outageSeen).toBe(false);
  });
});
