/**
 * The real dependencies of the report route handlers (lib/reports/report-handlers.ts): the session's role check,
 * the app's own origin, the clinic's today, the report queries and export service on the process's pg pool, and
 * the job queue.
 */
import "server-only";
import { clinicToday } from "@/lib/app/clinic-today";
import { pgPool } from "@/lib/db/pool";
import { failExport, listExports, readExportAudit } from "@/lib/db/report-export-store";
import { requestReportExport } from "@/lib/jobs/queue";
import { createBackgroundExport, exportDownload, exportState, planExport, streamExport } from "@/lib/reports/export-service";
import type { ReportBackend, ReportHandlerDeps } from "@/lib/reports/report-handlers";
import { reportCasePage, reportCatalogueCounts, reportDataNotes, reportFilterChoices, reportSummary } from "@/lib/reports/report-queries";
import { gateRequest } from "@/lib/smart/role-gate";
import { requestOrigin } from "@/lib/smart/web-adapter";

function pgReportBackend(): ReportBackend {
  const pool = pgPool();
  return {
    summary: (request) => reportSummary(pool, request),
    casePage: (request, options) => reportCasePage(pool, request, options),
    dataNotes: (request, limit) => reportDataNotes(pool, request, limit),
    filterChoices: () => reportFilterChoices(pool),
    catalogueCounts: () => reportCatalogueCounts(pool),
    planExport: (input) => planExport(pool, input),
    streamExport: (input, actor, ctx) => streamExport(pool, input, actor, ctx),
    createBackgroundExport: (input, actor, rows, ctx) => createBackgroundExport(pool, input, actor, rows, ctx),
    failExport: (exportId, message) => failExport(pool, exportId, message),
    exportState: (exportId, actor) => exportState(pool, exportId, actor),
    exportDownload: (exportId, actor) => exportDownload(pool, exportId, actor),
    listExports: (actor, limit) => listExports(pool, actor, limit),
    exportAudit: (options) => readExportAudit(pool, options),
  };
}

export function reportRouteDeps(): ReportHandlerDeps {
  return {
    authorize: async (request, roles) => {
      const result = await gateRequest(request, roles);
      return "response" in result ? result.response : { practitionerId: result.gate.practitionerId, role: result.gate.role };
    },
    appOrigin: (request) => requestOrigin(request, process.env.APP_BASE_URL || null),
    today: () => clinicToday(),
    backend: pgReportBackend(),
    queue: { requestReportExport },
  };
}
