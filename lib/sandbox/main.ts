// `npm run sandbox`: the sandbox EHR on its own port, configured from flags and environment.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { defaultClients, mergeClients, parseClientsJson, type SandboxClient } from "./clients";
import { parseFaultConfig } from "./server";
import { startSandbox } from "./index";

const { values: flags } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string" },
    patients: { type: "string" },
    seed: { type: "string" },
    "as-of": { type: "string" },
    "cohort-dir": { type: "string" },
    "app-launch-url": { type: "string" },
    "cds-service-base": { type: "string" },
    "clients-file": { type: "string" },
    faults: { type: "string" },
    fixture: { type: "boolean" },
    help: { type: "boolean" },
  },
});

if (flags.help) {
  console.log(`Usage: npm run sandbox -- [--port 4100] [--host 127.0.0.1] [--patients 60] [--seed 42] [--as-of YYYY-MM-DD]
       [--cohort-dir DIR] [--fixture] [--app-launch-url URL] [--cds-service-base URL] [--clients-file FILE] [--faults JSON]
Environment: PORT, SANDBOX_HOST, SANDBOX_PATIENTS, SANDBOX_SEED, SANDBOX_AS_OF, SANDBOX_COHORT_DIR, SANDBOX_APP_LAUNCH_URL,
  SANDBOX_CDS_SERVICE_BASE (the app's {base}/cds-services: the launcher's Open chart and Order views call it),
  SANDBOX_CLIENTS_FILE, SANDBOX_APP_CLIENT_SECRET, SANDBOX_APP_REDIRECT_PREFIXES, SANDBOX_BULK_JWKS,
  SANDBOX_BULK_JWKS_URL, SANDBOX_BULK_JWKS_FILE, SANDBOX_FAULTS (JSON), SANDBOX_TOKEN_LIFETIME_SECONDS`);
  process.exit(0);
}

const env = process.env;
const port = Number(flags.port ?? env.PORT ?? 4100);
const patients = Number(flags.patients ?? env.SANDBOX_PATIENTS ?? 60);
const seed = Number(flags.seed ?? env.SANDBOX_SEED ?? 42);
const asOf = flags["as-of"] ?? env.SANDBOX_AS_OF;
const cohortDir = flags["cohort-dir"] ?? env.SANDBOX_COHORT_DIR;
const clientsFile = flags["clients-file"] ?? env.SANDBOX_CLIENTS_FILE;
const faultsJson = flags.faults ?? env.SANDBOX_FAULTS;

let clients: SandboxClient[] = defaultClients(env);
if (clientsFile) clients = mergeClients(clients, parseClientsJson(readFileSync(clientsFile, "utf8")));
const faults = faultsJson ? parseFaultConfig(JSON.parse(faultsJson)) : undefined;
if (faultsJson && !faults) throw new Error("SANDBOX_FAULTS / --faults must be a FaultConfig JSON object");

const started = Date.now();
const sandbox = await startSandbox({
  port,
  host: flags.host ?? env.SANDBOX_HOST ?? "127.0.0.1",
  ...(flags.fixture ? {} : { cohort: cohortDir ? { dir: cohortDir } : { patients, seed, ...(asOf ? { asOf } : {}) } }),
  clients,
  appLaunchUrl: flags["app-launch-url"] ?? env.SANDBOX_APP_LAUNCH_URL ?? "http://localhost:3000/launch",
  cdsServiceBase: flags["cds-service-base"] ?? env.SANDBOX_CDS_SERVICE_BASE ?? "http://localhost:3000/cds-services",
  ...(faults ? { faults } : {}),
  ...(env.SANDBOX_TOKEN_LIFETIME_SECONDS ? { tokenLifetimeSeconds: Number(env.SANDBOX_TOKEN_LIFETIME_SECONDS) } : {}),
});

console.log(`Sandbox EHR ready in ${Date.now() - started} ms (${sandbox.resourceCount} resources).
  Launcher:            ${sandbox.launcherUrl}
  FHIR base (iss):     ${sandbox.fhirBase}
  SMART configuration: ${sandbox.fhirBase}/.well-known/smart-configuration
  Fault control:       POST ${sandbox.origin}/admin/faults (loopback only)
  CDS client JWKS:     ${sandbox.origin}/cds-client/jwks.json (register it with the app: CDS_CLIENTS)
  Clients:             ${clients.map((client) => client.clientId).join(", ")}
Press Ctrl+C to stop.`);

const shutdown = (): void => {
  void sandbox.stop().then(() => process.exit(0));
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
