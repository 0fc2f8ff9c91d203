/**
 * The real dependencies of the CDS routes: the process's pg pool, the clients from CDS_CLIENTS(_FILE), the service and
 * launch URLs from the environment (else the request's origin), the clinic's today, and the card builders.
 */
import "server-only";
import { clinicToday } from "../app/clinic-today";
import { eventLogger } from "../app/log";
import { pgPool } from "../db/pool";
import { patientViewCards } from "./cards";
import { cdsAppLaunchUrl, cdsClientsFromEnv, cdsServiceBase } from "./config";
import { orderSignCards } from "./order-sign";
import type { CdsDeps, CdsServiceDeps, LogFn } from "./service";

/** PHI-free events (names, counts, codes and timings only) as JSON lines through the process logger. */
export const cdsLog: LogFn = eventLogger("cds");

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
