// SMART launch entry: EHR launch (?iss=..&launch=..) or standalone (?iss=..). Delegates to lib/smart.
import { handleLaunch } from "@/lib/smart/launch";
import { smartDeps } from "@/lib/smart/server";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  return handleLaunch(request, smartDeps());
}
