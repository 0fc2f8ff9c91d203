import pg from "pg";
import { migrationStatus } from "./migrate";
import type { DatabaseMode } from "./database";

export interface DatabaseHealth {
  reachable: boolean;
  mode: DatabaseMode | "unknown";
  serverVersion?: string;
  migrations: { applied: number; pending: string[]; upToDate: boolean };
  error?: string;
}

/** Checks the database the app is configured with, without changing it. */
export async function checkDatabase(url: string | undefined, mode: string | undefined): Promise<DatabaseHealth> {
  const knownMode: DatabaseHealth["mode"] = mode === "embedded" || mode === "external" ? mode : url ? "external" : "unknown";
  if (!url) {
    return { reachable: false, mode: knownMode, migrations: { applied: 0, pending: [], upToDate: false }, error: "DATABASE_URL is not set" };
  }
  // Bounded both ways: a server that does not accept, or accepts and then does not answer, is unreachable in 3 s.
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000, query_timeout: 3000 });
  // A connection the server cuts while we wait must not become an unhandled 'error' event.
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
    const status = await migrationStatus(client);
    return {
      reachable: true,
      mode: knownMode,
      serverVersion: rows[0]?.server_version,
      migrations: { applied: status.applied.length, pending: status.pending, upToDate: status.pending.length === 0 },
    };
  } catch (error) {
    // The message names host and port only; it never carries credentials or patient data.
    const message = error instanceof Error ? error.message.replace(/postgres(ql)?:\/\/[^\s]+/g, "<database url>") : "unknown error";
    return { reachable: false, mode: knownMode, migrations: { applied: 0, pending: [], upToDate: false }, error: message };
  } finally {
    await client.end().catch(() => {});
  }
}
