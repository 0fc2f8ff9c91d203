"use client";

import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useId, useState, type FormEvent } from "react";
import { AdminRequestError, deleteRoleAssignment, postGrantRole } from "@/lib/admin/roles-api-client";
import type { RoleAssignmentsResponse, RoleAssignmentView } from "@/lib/admin/types";

const ROLE_LABELS: Record<string, string> = { dermatologist: "Dermatologist", "clinic-lead": "Clinic lead", quality: "Quality analyst", admin: "Administrator" };

function formatTime(iso: string): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : "";
}

/** The assignments with a revoke button each, and the form that assigns a role; both refresh the page when done. */
export function RoleAssignmentsView({ overview }: { overview: RoleAssignmentsResponse }) {
  const router = useRouter();
  const [notice, setNotice] = useState<string | null>(null);
  const revoke = useMutation({
    mutationFn: deleteRoleAssignment,
    onSuccess: (result) => {
      setNotice(result.message);
      router.refresh();
    },
  });
  const isYou = (a: RoleAssignmentView) => a.practitioner === overview.you.practitioner && a.issuer === overview.you.issuer;

  return (
    <div className="space-y-6">
      <section aria-labelledby="assignments-title" className="space-y-2">
        <h2 id="assignments-title" className="text-lg font-semibold">
          Assigned in the app
        </h2>
        {overview.assignments.length === 0 ? (
          <p className="text-sm text-slate-700" data-testid="no-role-assignments">
            No role is assigned in the app: everyone has the role their EHR gives.
          </p>
        ) : (
          <div className="overflow-x-auto">
            <table className="min-w-full text-left text-sm" data-testid="role-assignments">
              <thead className="border-b border-slate-300 text-slate-600">
                <tr>
                  <th scope="col" className="py-2 pr-4 font-medium">Practitioner</th>
                  <th scope="col" className="py-2 pr-4 font-medium">Role</th>
                  <th scope="col" className="py-2 pr-4 font-medium">EHR (issuer)</th>
                  <th scope="col" className="py-2 pr-4 font-medium">Assigned by</th>
                  <th scope="col" className="py-2 pr-4 font-medium">When</th>
                  <th scope="col" className="py-2 font-medium"><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {overview.assignments.map((a) => (
                  <tr key={`${a.issuer}|${a.practitioner}`} className="border-b border-slate-100">
                    <td className="py-2 pr-4 font-mono text-xs">{a.practitioner}</td>
                    <td className="py-2 pr-4">{ROLE_LABELS[a.role] ?? `${a.role} (not an app role: grants nothing)`}</td>
                    <td className="break-all py-2 pr-4 font-mono text-xs">{a.issuer}</td>
                    <td className="py-2 pr-4 font-mono text-xs">{a.grantedBy}</td>
                    <td className="py-2 pr-4 whitespace-nowrap">{formatTime(a.grantedAt)}</td>
                    <td className="py-2">
                      {isYou(a) ? (
                        <span className="text-xs text-slate-500">you</span>
                      ) : (
                        <button
                          type="button"
                          disabled={revoke.isPending}
                          onClick={() => {
                            setNotice(null);
                            revoke.mutate({ issuer: a.issuer, practitioner: a.practitioner });
                          }}
                          aria-label={`Revoke the ${ROLE_LABELS[a.role] ?? a.role} role of ${a.practitioner}`}
                          className="rounded border border-slate-300 bg-white px-2 py-1 text-xs font-medium text-slate-800 disabled:opacity-50"
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {revoke.isError ? <RequestFailure error={revoke.error} /> : null}
      </section>
      <GrantRoleForm overview={overview} onDone={(message) => setNotice(message)} />
      <p aria-live="polite" className="text-sm text-status-ok" data-testid="role-change-result">
        {notice}
      </p>
    </div>
  );
}

function GrantRoleForm({ overview, onDone }: { overview: RoleAssignmentsResponse; onDone: (message: string) => void }) {
  const id = useId();
  const router = useRouter();
  const [issuer, setIssuer] = useState(overview.you.issuer ?? overview.issuers[0] ?? "");
  const [practitioner, setPractitioner] = useState("");
  const [role, setRole] = useState("");
  const grant = useMutation({
    mutationFn: postGrantRole,
    onSuccess: (result) => {
      onDone(result.message);
      setPractitioner("");
      router.refresh();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const chosen = overview.roles.find((r) => r === role);
    if (!chosen) return;
    grant.mutate({ ...(issuer.trim() ? { issuer: issuer.trim() } : {}), practitioner: practitioner.trim(), role: chosen });
  };
  return (
    <form onSubmit={submit} aria-labelledby={`${id}-title`} className="max-w-3xl space-y-3 rounded-lg border border-slate-200 bg-white p-4 text-sm" data-testid="grant-role-form">
      <h2 id={`${id}-title`} className="text-lg font-semibold">
        Assign a role
      </h2>
      <div className="grid gap-3 sm:grid-cols-3">
        <div className="sm:col-span-3">
          <label htmlFor={`${id}-issuer`} className="block font-medium text-slate-800">
            EHR (issuer: its FHIR base URL)
          </label>
          <input
            id={`${id}-issuer`}
            value={issuer}
            onChange={(e) => setIssuer(e.target.value)}
            list={`${id}-issuers`}
            required
            maxLength={2048}
            className="mt-1 w-full rounded border border-slate-300 px-2 py-1 font-mono text-xs"
          />
          <datalist id={`${id}-issuers`}>
            {overview.issuers.map((i) => (
              <option key={i} value={i} />
            ))}
          </datalist>
        </div>
        <div className="sm:col-span-2">
          <label htmlFor={`${id}-practitioner`} className="block font-medium text-slate-800">
            Practitioner
          </label>
          <input
            id={`${id}-practitioner`}
            value={practitioner}
            onChange={(e) => setPractitioner(e.target.value)}
            required
            pattern="Practitioner/[A-Za-z0-9\-.]{1,64}"
            placeholder="Practitioner/pr-derm-1"
            aria-describedby={`${id}-practitioner-help`}
            className="mt-1 w-full rounded border border-slate-300 px-2 py-1 font-mono text-xs"
          />
          <p id={`${id}-practitioner-help`} className="mt-1 text-xs text-slate-600">
            As the EHR names the user in the id_token&apos;s fhirUser (the audit trail shows it for every launch).
          </p>
        </div>
        <div>
          <label htmlFor={`${id}-role`} className="block font-medium text-slate-800">
            Role
          </label>
          <select id={`${id}-role`} value={role} onChange={(e) => setRole(e.target.value)} required className="mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1">
            <option value="">Choose a role…</option>
            {overview.roles.map((r) => (
              <option key={r} value={r}>
                {ROLE_LABELS[r] ?? r}
              </option>
            ))}
          </select>
        </div>
      </div>
      <button type="submit" disabled={grant.isPending} className="rounded border border-brand bg-brand px-3 py-1.5 font-medium text-white disabled:opacity-50">
        {grant.isPending ? "Saving…" : "Assign role"}
      </button>
      {grant.isError ? <RequestFailure error={grant.error} /> : null}
    </form>
  );
}

function RequestFailure({ error }: { error: Error }) {
  const relaunch = error instanceof AdminRequestError && error.status === 401 ? (error.relaunch ?? "/relaunch") : null;
  return (
    <p role="alert" className="text-sm text-status-critical">
      {error.message}{" "}
      {relaunch ? (
        <Link href={relaunch} className="underline underline-offset-2">
          Launch again
        </Link>
      ) : null}
    </p>
  );
}
