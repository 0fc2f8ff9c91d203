// SMART redirect_uri: code exchange (fhirclient, server side), session context, redirect to the landing page.
import { handleCallback } from "@/lib/smart/launch";
import { smartDeps } from "@/lib/smart/server";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  return handleCallback(request, smartDeps());
}
