/**
 * Bench section: the dermatologist's patient view against the local sandbox EHR. Starts its own sandbox in a
 * child process, as in the demo (`npm run sandbox`; a small cohort including showcase patient pt-000007,
 * three years of data) and a throwaway PostgreSQL, does
 * real SMART EHR launches through the app's launch/callback handlers, then measures "first content": the
 * GET /api/patients/[id] handler (session and token from Postgres, parallel FHIR searches over HTTP, engine,
 * JSON), median of N runs, with FHIR request count and bytes.
 */
import { cookieHeaderFrom } from "../smart/cookies";
import type { PatientViewResponse } from "../fhir/patient-record-types";
import { startSandboxProcess } from "./sandbox-process";
import type { BenchRow } from "./types";

const PATIENT = "pt-000007";
const APP = "http://127.0.0.1:3999";

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export async function benchPatientView(runs = 15): Promise<BenchRow[]> {
  const sandbox = await startSandboxProcess(["--patients", "12", "--seed", "1", "--app-launch-url", `${APP}/launch`]);
  const { startTestDatabase } = await import("../db/testing");
  const db = await startTestDatabase().catch(async (error: unknown) => {
    await sandbox.stop();
    throw error;
  });
  try {
    const { SessionStore } = await import("../smart/session-store");
    const { deriveKey } = await import("../smart/crypto");
    const { smartConfig } = await import("../smart/config");
    const { handleLaunch, handleCallback } = await import("../smart/launch");
    const { handlePatientViewRequest } = await import("../fhir/patient-api");
    const phases: Array<{ fetchMs: number; evaluateMs: number }> = [];
    const deps = {
      store: new SessionStore(db.prisma, deriveKey("bench-session-secret-0123456789abcdefgh")),
      config: smartConfig({}),
      log: (event: string, fields: Record<string, string | number | boolean | null>) => {
        if (event === "patient-view") phases.push({ fetchMs: Number(fields.ms), evaluateMs: Number(fields.evaluateMs) });
      },
    };
    const practitioner = "pr-derm-1";

    const launchOnce = async (): Promise<{ cookie: string; ms: number }> => {
      const t0 = performance.now();
      // The EHR's launcher creates the launch context and opens the app's launch URL (first hop only).
      const opened = await fetch(`${sandbox.launcherUrl}?practitioner=${practitioner}&patient=${PATIENT}&mode=ehr&go=1`, { redirect: "manual" });
      const launchUrl = opened.headers.get("location");
      if (!launchUrl?.startsWith(`${APP}/launch?`)) throw new Error(`the launcher did not open the app: ${opened.status}`);
      const start = await handleLaunch(new Request(launchUrl), deps);
      const cookie = (start.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const auth = await fetch(start.headers.get("location")!, { redirect: "manual" });
      const done = await handleCallback(new Request(auth.headers.get("location")!, { headers: { cookie } }), deps);
      if (!done.headers.get("location")?.endsWith(`/patients/${PATIENT}`)) throw new Error(`launch did not land on the patient view: ${done.headers.get("location")}`);
      // The callback rotates the session id: the session's cookie is the one it sets.
      return { cookie: cookieHeaderFrom(done), ms: performance.now() - t0 };
    };
    const firstContent = async (cookie: string): Promise<{ ms: number; body: PatientViewResponse }> => {
      const t0 = performance.now();
      const res = await handlePatientViewRequest(new Request(`${APP}/api/patients/${PATIENT}`, { headers: { cookie } }), PATIENT, deps);
      const text = await res.text();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`patient view answered ${res.status}`);
      return { ms, body: JSON.parse(text) as PatientViewResponse };
    };

    const launchTimes: number[] = [];
    const viewTimes: number[] = [];
    let last: PatientViewResponse | undefined;
    for (let i = 0; i < runs + 2; i++) {
      const { cookie, ms } = await launchOnce();
      const view = await firstContent(cookie);
      if (i >= 2) {
        launchTimes.push(ms);
        viewTimes.push(view.ms);
      }
      last = view.body;
    }
    const viewMedian = median(viewTimes);
    const totalMedian = median(launchTimes.map((l, i) => l + viewTimes[i]!));
    const f = last!.fetch;
    const resources = Object.values(f.resourceCounts).reduce((a, b) => a + b, 0);
    return [
      {
        figure: "patient view: launch to first content (3 years of data), median",
        value: `${viewMedian.toFixed(0)} ms (${f.requests} FHIR requests, ${(f.bytes / 1024).toFixed(0)} KB, ${resources} resources)`,
        target: "< 800 ms",
        ok: viewMedian < 800,
        note: `${PATIENT} (${last!.evaluation.courses.length} course, ${last!.evaluation.courses[0]?.checkpoints.filter((c) => c.verdict === "responded").length ?? 0} checkpoints responded), ${runs} runs after the token exchange (session, parallel FHIR searches, engine, JSON); median FHIR fetch ${median(phases.slice(2).map((p) => p.fetchMs)).toFixed(0)} ms, engine ${median(phases.slice(2).map((p) => p.evaluateMs)).toFixed(0)} ms; partial=${f.partial}`,
      },
      {
        figure: "patient view: full EHR launch (launch, authorize, token, callback) + first content, median",
        value: `${totalMedian.toFixed(0)} ms`,
        target: "-",
        ok: null,
        note: "local sandbox and PostgreSQL; no browser",
      },
    ];
  } finally {
    await db.stop();
    await sandbox.stop();
  }
}
