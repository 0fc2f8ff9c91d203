/**
 * The real dependencies of the CDS routes: the process's pg pool, the clients from CDS_CLIENTS(_FILE), the service and
 * launch URLs from the environment (else the request's origin), the clinic's today, and the card builders.
 */
import "server-only";
import { clinicToday } from "../app/clinic-today";
import { pgPool } from "../db/pool";
import { patientViewCards } from "./cards";
import { cdsAppLaunchUrl, cdsClientsFromEnv, cdsServiceBase } from "./config";
import { orderSignCards } from "./order-sign";
import type { CdsDeps, CdsServiceDeps, LogFn } from "./service";

/** PHI-free log lines: event names, counts, codes and timings only. */
export const cdsLog: LogFn = (event, fields) => {
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${v}`);
  console.log(`[cds] ${event} ${parts.join(" ")}`.trim());
};

export function cdsRouteDeps(): CdsDeps {
  return {
    pool: pgPool(),
    clients: () => cdsClientsFromEnv(),
    serviceBase: (request) => cdsServiceBase(request),
    log: cdsLog,
  };
}

export function cdsServiceRouteDeps(): CdsServiceDeps {
  return {
    ...cdsRouteDeps(),
    asOf: () => clinicToday(),
    appLaunchUrl: (request) => cdsAppLaunchUrl(request),
    patientViewCards,
    orderSignCards,
  };
}
