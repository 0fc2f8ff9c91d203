// `npm start` (production) and `npm run dev`: the database (embedded PostgreSQL unless DATABASE_URL is set), then Next.
import { ensureProductionBuild, startAppServer, stopOnSignalOrExit } from "../app/app-server";

const dev = process.argv.includes("--dev");
const port = Number(process.env.PORT) || 3000;
const host = process.env.HOST ?? "127.0.0.1";

if (!dev) await ensureProductionBuild();
const app = await startAppServer({ port, host, dev });
console.log(`Eczema JAK Monitor is running at ${app.url} (database: ${app.database.mode}).`);

stopOnSignalOrExit(() => app.stop(), app.exited);
