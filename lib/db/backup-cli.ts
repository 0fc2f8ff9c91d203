// Backup and restore of the app's database with PostgreSQL's pg_dump / pg_restore:
//   npx tsx lib/db/backup-cli.ts backup <file.dump>    DATABASE_URL, else the running embedded server of the data folder
//   npx tsx lib/db/backup-cli.ts restore <file.dump>   into DATABASE_URL (an empty database), else into a new embedded
//                                                      cluster in the data folder (which must not hold one yet)
// The data folder is $EJM_DATA_DIR, else .data; the embedded cluster is its postgres/ subfolder.
import { existsSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { backupDatabase, embeddedDatabaseUrl, restoreDatabase } from "./backup";
import { DEFAULT_DATA_DIR } from "./database";
import { startEmbeddedPostgres } from "./embedded";

function clusterDir(): string {
  return process.env.EJM_DATA_DIR ? path.resolve(process.env.EJM_DATA_DIR, "postgres") : DEFAULT_DATA_DIR;
}

async function tablesIn(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'");
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const [command, file] = process.argv.slice(2);
  if ((command !== "backup" && command !== "restore") || !file) {
    console.error("usage: npx tsx lib/db/backup-cli.ts backup|restore <file.dump>");
    process.exit(2);
  }
  const external = process.env.DATABASE_URL?.trim();
  if (command === "backup") {
    const url = external || (await embeddedDatabaseUrl(clusterDir()));
    await backupDatabase(url, file);
    console.log(`Backed up ${external ? "DATABASE_URL" : `the embedded PostgreSQL in ${clusterDir()}`} to ${file}.`);
    return;
  }
  if (!existsSync(file)) throw new Error(`${file} does not exist.`);
  if (external) {
    if ((await tablesIn(external)) > 0) throw new Error("DATABASE_URL's database has tables already: restore into an empty database (createdb a new one).");
    await restoreDatabase(external, file);
    console.log(`Restored ${file} into DATABASE_URL.`);
    return;
  }
  const dir = clusterDir();
  if (existsSync(path.join(dir, "PG_VERSION"))) {
    throw new Error(`${dir} holds a cluster already: stop the app and move the data folder aside (or set EJM_DATA_DIR to a new folder), then restore.`);
  }
  const db = await startEmbeddedPostgres({ dataDir: dir, supervise: false });
  try {
    await restoreDatabase(db.url, file);
  } finally {
    await db.stop();
  }
  console.log(`Restored ${file} into a new embedded PostgreSQL in ${dir}; npm start serves it.`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
