// `npm start` (production) and `npm run dev`: the database (embedded PostgreSQL unless DATABASE_URL is set), the job
// worker in this process (unless WORKER_IN_APP=0, when `npm run worker` runs it separately), then Next.
// SIGINT, SIGTERM or SIGHUP to any process of the tree (npm, its shell, tsx, this one) stops all of it.
import { ensureProductionBuild, startAppServer } from "../app/app-server";
import { stopTreeOnSignals } from "../app/process-tree";

const shutdown = stopTreeOnSignals();
const dev = process.argv.includes("--dev");
const port = Number(process.env.PORT) || 3000;
const host = process.env.HOST ?? "127.0.0.1";

if (!dev) await ensureProductionBuild();
const app = await startAppServer({ port, host, dev });
console.log(
  `Eczema JAK Monitor is running at ${app.url} (database: ${app.database.mode}; job worker: ${app.worker ? "in this process" : "separate, WORKER_IN_APP=0"}).`,
);

shutdown.setStop(() => app.stop(), app.exited);
