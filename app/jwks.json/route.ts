import { publicJwks } from "@/lib/fhir/backend-auth";
import { loadSourceConfigs } from "@/lib/sync/sources";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** The app's public keys for SMART Backend Services: EHRs registered with this URL verify our client assertions. */
export async function GET() {
  let body;
  try {
    // Every configured source's key, once each (sources may share a registration).
    const keys = new Map(loadSourceConfigs().map((source) => [source.privateJwk.kid ?? JSON.stringify(source.privateJwk), source.privateJwk]));
    body = publicJwks([...keys.values()]);
  } catch (error) {
    return Response.json(
      { error: "sync-sources-invalid", message: error instanceof Error ? error.message : "the sync source configuration is not valid" },
      { status: 500, headers: { "Cache-Control": "no-store" } },
    );
  }
  // Short cache: a rotated key must reach the EHR soon.
  return Response.json(body, { headers: { "Cache-Control": "public, max-age=300", "Content-Type": "application/json" } });
}
