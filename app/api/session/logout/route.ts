// POST /api/session/logout: sign out (same-origin only); deletes this browser's sessions on the server.
import { answerDatabaseOutages } from "@/lib/app/db-unavailable";
import { handleLogout } from "@/lib/smart/session-logout";
import { smartDeps } from "@/lib/smart/server";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = answerDatabaseOutages(async function POST(request: Request): Promise<Response> {
  return handleLogout(request, smartDeps());
});
