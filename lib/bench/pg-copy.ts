/** Copying bench rows between databases and multiplying them under new patient ids (the panel and reports sections). */
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";

/** A table and its patient id column. */
export type PatientTable = [table: string, idColumn: string];

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Copies the rows of `tables` (each filtered by `where`, if given) from one database to another by COPY. */
export async function copyRows(fromUrl: string, toUrl: string, tables: readonly string[], where?: (table: string, client: pg.Client) => string): Promise<void> {
  await withClient(fromUrl, (source) =>
    withClient(toUrl, async (target) => {
      for (const table of tables) {
        // COPY (SELECT ..): a partitioned table cannot be copied from directly.
        const filter = where ? ` WHERE ${where(table, source)}` : "";
        await pipeline(source.query(copyTo(`COPY (SELECT * FROM ${table}${filter}) TO STDOUT`)), target.query(copyFrom(`COPY ${table} FROM STDIN`)));
      }
    }),
  );
}

/** Adds `copies` copies of every row of `tables` under new patient ids (id + "~c<k>"), then VACUUM ANALYZE. */
export async function replicate(url: string, tables: readonly PatientTable[], copies: number): Promise<void> {
  await withClient(url, async (client) => {
    for (const [table, idColumn] of tables) {
      const { rows } = await client.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        [table],
      );
      const columns = rows.map((r) => client.escapeIdentifier(r.column_name));
      const select = rows.map((r) => (r.column_name === idColumn ? `${client.escapeIdentifier(idColumn)} || '~c' || k` : client.escapeIdentifier(r.column_name)));
      await client.query(`INSERT INTO ${table} (${columns.join(", ")}) SELECT ${select.join(", ")} FROM ${table} CROSS JOIN generate_series(1, $1::int) AS k`, [copies]);
    }
    await client.query("VACUUM ANALYZE");
  });
}
