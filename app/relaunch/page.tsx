import type { Metadata } from "next";
import Link from "next/link";
import { isIssuerAllowed, smartConfig } from "@/lib/smart/config";

export const metadata: Metadata = { title: "Launch again" };
export const dynamic = "force-dynamic";

const REASONS: Record<string, { title: string; text: string }> = {
  "session-expired": { title: "Your session has ended", text: "The EHR's access for this session expired and could not be renewed. Open the app again from the patient's chart in the EHR." },
  "no-session": { title: "No active session", text: "This browser has no session with the app. Open the app from the patient's chart in the EHR (or use your EHR's app launcher)." },
  "missing-iss": { title: "Launched without an EHR", text: "The launch did not say which EHR it came from (no iss parameter). Open the app from inside the EHR." },
  "issuer-not-allowed": { title: "This EHR is not configured", text: "The app is not configured to trust the FHIR server that launched it. An administrator can add it to SMART_ALLOWED_ISSUERS." },
  "discovery-failed": { title: "The EHR could not be reached", text: "The app could not read the EHR's SMART configuration. Try again in a moment; if it persists, tell your EHR support team." },
  "auth-denied": { title: "Access was not granted", text: "The EHR's authorization server declined the app's request. Launch again and approve access, or ask your EHR support team." },
  "auth-failed": { title: "Sign-in did not complete", text: "The authorization step could not be completed (the link may be stale or already used). Launch the app again from the EHR." },
  "no-patient": { title: "No patient in context", text: "The launch did not include a patient, and your role has no patient-independent view. Open the app from a patient's chart." },
  "role-unavailable": { title: "Your role could not be read", text: "The app takes your role (dermatologist, clinic lead, quality) from your PractitionerRole in the EHR, and could not read it, so it did not guess one and has not opened." },
  "code-replayed": {
    title: "This sign-in link was already used",
    text: "The sign-in code in this link has already been handed to the EHR by the app, and a code works only once, so the app did not use it again and changed nothing. If the app has just opened in another tab or window, carry on there; otherwise launch it again.",
  },
  "code-refused": {
    title: "The EHR refused the sign-in code",
    text: "The EHR's authorization server would not exchange the sign-in code for access: the code had expired or had been used already, or it did not match this launch. The app has opened nothing; launch it again.",
  },
  "pkce-verifier-missing": {
    title: "Sign-in could not be completed safely",
    text: "The app could not find this launch's PKCE code verifier, the secret that proves the sign-in code is the app's own, so it sent the code nowhere and opened nothing. Launch the app again.",
  },
  "ehr-unavailable": {
    title: "The EHR is not answering",
    text: "While you were signing in, the EHR did not answer in time or answered that it is busy or unavailable, so the app stopped and kept nothing. Try again in a moment; if it keeps happening, tell your EHR support team.",
  },
};

/** Which step of the sign-in met an EHR that did not answer (the `step` parameter of ehr-unavailable). */
const UNAVAILABLE_STEPS: Record<string, string> = {
  token: "It happened while the app exchanged the sign-in code at the EHR's token endpoint.",
  keys: "It happened while the app read the EHR's signing keys to check who signed in.",
};

/** What the role lookup met (lib/smart/role-lookup.ts), in words; the key is the `detail` parameter. */
const ROLE_DETAILS: Record<string, string> = {
  "no-fhir-user": "The EHR did not say who signed in (no fhirUser in the id_token). Ask your EHR support team to grant the app openid and fhirUser.",
  "not-a-practitioner": "You are signed in as someone other than a practitioner. The app is for clinic staff.",
  refused: "The EHR refused the app's request to read your PractitionerRole. The app asks for user/PractitionerRole.rs (user/PractitionerRole.read on SMART v1 servers); ask your EHR support team to grant it to the app.",
  failed: "The EHR answered the app's request for your PractitionerRole with an error. Try again; if it persists, tell your EHR support team.",
  unreachable: "The EHR did not answer the app's request for your PractitionerRole. Try again in a moment.",
  "role-mapping-invalid": "The app's ROLE_MAPPING setting is not valid, so no role could be read. An administrator must fix it (the server log says what is wrong).",
  "role-assignments-unavailable": "The app could not read its own role assignments (the database did not answer). Try again in a moment.",
};

const param = (value: string | string[] | undefined): string | undefined => (typeof value === "string" ? value : undefined);

/** `/launch?iss=..` for a standalone launch of an issuer this app is configured to trust, else null. */
function standaloneLaunchHref(iss: string | undefined): string | null {
  if (!iss) return null;
  try {
    return isIssuerAllowed(iss, smartConfig().allowedIssuers) ? `/launch?${new URLSearchParams({ iss })}` : null;
  } catch {
    return null;
  }
}

/** How to launch again after a refused sign-in: from the EHR (an EHR launch works once), or from here (standalone). */
function RelaunchAction({ launch, iss }: { launch: string | undefined; iss: string | undefined }) {
  if (launch === "ehr") {
    return (
      <p className="text-slate-700" data-testid="relaunch-action">
        To launch again, go back to the patient&apos;s chart in the EHR and open the app from there: each launch link from the EHR works once.
      </p>
    );
  }
  if (launch !== "standalone") return null;
  const href = standaloneLaunchHref(iss);
  if (!href) {
    return (
      <p className="text-slate-700" data-testid="relaunch-action">
        To sign in again, start the app from your EHR&apos;s app launcher.
      </p>
    );
  }
  // A plain link, not next/link: a prefetch of /launch would start a launch.
  return (
    <p data-testid="relaunch-action">
      <a href={href} className="inline-block rounded bg-brand px-3 py-1.5 text-sm font-medium text-white">
        Sign in again
      </a>
    </p>
  );
}

export default async function RelaunchPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const reason = typeof params.reason === "string" && params.reason in REASONS ? params.reason : "no-session";
  const info = REASONS[reason]!;
  const detail = param(params.detail);
  const roleDetail = reason === "role-unavailable" && detail ? ROLE_DETAILS[detail] : undefined;
  const status = param(params.status);
  const httpStatus = status && /^[1-5]\d\d$/.test(status) ? status : undefined;
  const error = param(params.error);
  const oauthError = (reason === "auth-denied" || reason === "code-refused") && error && /^[a-z_]{1,64}$/.test(error) ? error : undefined;
  const step = param(params.step);
  const stepDetail = reason === "ehr-unavailable" && step ? UNAVAILABLE_STEPS[step] : undefined;
  return (
    <section aria-labelledby="relaunch-title" className="max-w-2xl space-y-4" data-testid="relaunch" data-reason={reason}>
      <h1 id="relaunch-title" className="text-2xl font-semibold">
        {info.title}
      </h1>
      <p className="text-slate-700">{info.text}</p>
      {roleDetail ? (
        <p className="text-slate-700" data-testid="relaunch-detail">
          {roleDetail}
          {httpStatus ? ` (HTTP ${httpStatus})` : ""}
        </p>
      ) : null}
      {oauthError ? (
        <p className="text-slate-700" data-testid="relaunch-detail">
          The authorization server answered <code>{oauthError}</code>.
        </p>
      ) : null}
      {stepDetail ? (
        <p className="text-slate-700" data-testid="relaunch-detail">
          {stepDetail}
        </p>
      ) : null}
      <RelaunchAction launch={param(params.launch)} iss={param(params.iss)} />
      <p className="text-sm text-slate-600">
        For your safety the app never keeps EHR access in the browser: every session begins with a launch from the EHR.
      </p>
      <Link href="/" className="inline-block text-sm font-medium text-brand underline underline-offset-2">
        Back to the start page
      </Link>
    </section>
  );
}
