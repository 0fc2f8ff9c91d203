// `npm run demo`: the sandbox EHR with a seeded synthetic cohort beside the app, a first Bulk Data sync of its JAK
// panel (so the clinic lead's panel is populated), then the launcher's URL. SIGINT, SIGTERM or SIGHUP to any process
// of the tree (npm, its shell, tsx, this one) stops all of it.
import { ensureProductionBuild } from "../app/app-server";
import { describeFirstSync, startDemoStack } from "../app/demo-stack";
import { stopTreeOnSignals } from "../app/process-tree";

const shutdown = stopTreeOnSignals();

const appPort = Number(process.env.PORT) || 3000;
const sandboxPort = Number(process.env.SANDBOX_PORT) || 4100;
const patients = Number(process.env.SANDBOX_PATIENTS) || 60;
const seed = Number(process.env.SANDBOX_SEED) || 42;
const dev = process.argv.includes("--dev");
// The cohort is generated up to today, so the demo shows courses at every stage as of now.
const today = new Date().toISOString().slice(0, 10);

if (!dev) await ensureProductionBuild();
const stack = await startDemoStack({ appPort, sandboxPort, patients, seed, asOf: today, dev, quiet: false });
console.log(`
Eczema JAK Monitor demo is running.
  App:             ${stack.appUrl}
  Sandbox EHR:     ${stack.sandbox.origin} (FHIR base ${stack.sandbox.fhirBase}, ${patients} synthetic patients, seed ${seed}, data up to ${today})
  Clinic panel:    ${stack.appUrl}/panel (standalone launch as the clinic lead), synced from the sandbox's JAK panel
                   ${describeFirstSync(stack.firstSync)}

  Open the EHR launcher to start: ${stack.sandbox.launcherUrl}
  (pick a dermatologist and a patient for an EHR launch, or a clinic lead / quality analyst for a standalone launch)

Press Ctrl+C to stop everything.`);

shutdown.setStop(() => stack.stop(), stack.app.exited);
