// `npm start` (production) and `npm run dev`: the database (embedded PostgreSQL unless DATABASE_URL is set), then Next.
import { ensureProductionBuild, startAppServer } from "../app/app-server";

const dev = process.argv.includes("--dev");
const port = Number(process.env.PORT) || 3000;
const host = process.env.HOST ?? "127.0.0.1";

if (!dev) await ensureProductionBuild();
const app = await startAppServer({ port, host, dev });
console.log(`Eczema JAK Monitor is running at ${app.url} (database: ${app.database.mode}).`);

const shutdown = async (code: number): Promise<never> => {
  await app.stop();
  process.exit(code);
};
process.once("SIGINT", () => void shutdown(0));
process.once("SIGTERM", () => void shutdown(0));
void app.exited.then((code) => shutdown(code));
