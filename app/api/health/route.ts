import { DATABASE_RETRY_SECONDS } from "@/lib/app/db-unavailable";
import { APP_VERSION } from "@/lib/app/version";
import { checkDatabase } from "@/lib/db/health";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET() {
  const database = await checkDatabase(process.env.DATABASE_URL, process.env.EJM_DATABASE_MODE);
  const ok = database.reachable && database.migrations.upToDate;
  // Unreachable heals by itself (a restart); pending migrations need the app restarted, so no retry is suggested.
  const outage = !database.reachable ? { error: "database-unavailable", retryable: true } : {};
  return Response.json(
    { status: ok ? "ok" : "degraded", ...outage, version: APP_VERSION, node: process.versions.node, database },
    { status: ok ? 200 : 503, headers: { "Cache-Control": "no-store", ...(database.reachable ? {} : { "Retry-After": String(DATABASE_RETRY_SECONDS) }) } },
  );
}
