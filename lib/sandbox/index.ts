/** Sandbox EHR: a SMART on FHIR R4 server with Bulk Data export and fault injection, for demo and tests. */
export { startSandbox, FHIR_BASE_PATH, parseFaultConfig, type SandboxOptions, type RunningSandbox } from "./server";
export {
  createBackendClientKeys,
  defaultClients,
  parseClientsJson,
  APP_CLIENT_ID,
  BULK_CLIENT_ID,
  DEMO_APP_CLIENT_SECRET,
  type SandboxClient,
  type BackendClientKeys,
} from "./clients";
export type { FaultConfig } from "./faults";
export { APP_ROLE_SYSTEM, type AppRole } from "./directory";
export { FIXTURE_IDS, sandboxFixtureResources } from "./fixtures";
export { loadTransactionBundle } from "./seed";
export { SandboxRepository } from "./repository";
