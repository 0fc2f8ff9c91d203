// GET /cds-services: CDS Hooks 2.0 discovery (the patient-view, order-sign and order-select services with their
// prefetch templates). Public: it holds no data.
import { cdsPreflight, handleCdsDiscovery } from "@/lib/cds/service";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function GET(): Response {
  return handleCdsDiscovery();
}

export function OPTIONS(): Response {
  return cdsPreflight();
}
