import { startSandbox } from "../sandbox/index";
import { startAppServer, type AppServer } from "./app-server";

export interface DemoStackOptions {
  appPort: number;
  /** 0: a free port. */
  sandboxPort: number;
  /** Folder for the app's embedded PostgreSQL (EJM_DATA_DIR); the project's .data/ when omitted. */
  dataDir?: string;
  patients?: number;
  seed?: number;
  /** The cohort's "today", also pinned as the app's (CLINIC_AS_OF) so its verdicts match the data's day. */
  asOf?: string;
  dev?: boolean;
  quiet?: boolean;
}

export interface DemoStack {
  appUrl: string;
  app: AppServer;
  sandbox: Awaited<ReturnType<typeof startSandbox>>;
  stop(): Promise<void>;
}

/** The sandbox EHR with a seeded cohort, and the app registered with it as its SMART client. */
export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  const appUrl = `http://127.0.0.1:${options.appPort}`;
  const sandbox = await startSandbox({
    port: options.sandboxPort,
    cohort: { patients: options.patients ?? 60, seed: options.seed ?? 42, ...(options.asOf ? { asOf: options.asOf } : {}) },
    appLaunchUrl: `${appUrl}/launch`,
  });
  try {
    const app = await startAppServer({
      port: options.appPort,
      dev: options.dev,
      stdio: options.quiet ? "ignore" : "inherit",
      log: options.quiet ? () => {} : console.log,
      env: {
        APP_BASE_URL: appUrl,
        SMART_ALLOWED_ISSUERS: sandbox.fhirBase,
        ...(options.dataDir ? { EJM_DATA_DIR: options.dataDir } : {}),
        ...(options.asOf ? { CLINIC_AS_OF: options.asOf } : {}),
      },
    });
    return {
      appUrl,
      app,
      sandbox,
      async stop() {
        await app.stop();
        await sandbox.stop();
      },
    };
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
}
