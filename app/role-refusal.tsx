import Link from "next/link";
import type { RoleGate } from "@/lib/smart/role-gate";

const ROLE_LABELS: Record<string, string> = { dermatologist: "dermatologist", "clinic-lead": "clinic lead", quality: "quality analyst", admin: "administrator" };

/** The clear page a user sees when their session cannot open a view: why, and what to do instead. */
export function RoleRefusal({ gate, view, allowed }: { gate: Extract<RoleGate, { ok: false }>; view: string; allowed: readonly string[] }) {
  const needed = allowed.map((r) => ROLE_LABELS[r] ?? r).join(" or ");
  const title = gate.reason === "forbidden" ? `The ${view} is not available for your role` : "No active session";
  return (
    <section aria-labelledby="refusal-title" className="max-w-2xl space-y-3" data-testid="role-refusal" data-reason={gate.reason}>
      <h1 id="refusal-title" className="text-2xl font-semibold">
        {title}
      </h1>
      {gate.reason === "forbidden" ? (
        <p className="text-slate-700">
          The {view} is for the {needed} role. You are signed in as {gate.role ? (ROLE_LABELS[gate.role] ?? gate.role) : "a user without an app role"}. If you
          need it, ask your clinic&apos;s administrator to give you the {needed} role in the EHR, then launch the app again.
        </p>
      ) : (
        <p className="text-slate-700">
          {gate.reason === "session-expired" ? "Your session has ended." : "This browser has no session with the app."} Open the app again from the EHR
          (a standalone launch with the {needed} role).
        </p>
      )}
      <Link href="/" className="inline-block text-sm font-medium text-brand underline underline-offset-2">
        Back to the start page
      </Link>
    </section>
  );
}
