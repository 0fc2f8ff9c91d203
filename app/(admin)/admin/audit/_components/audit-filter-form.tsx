import Link from "next/link";
import { AUDIT_ACTION_PREFIXES, AUDIT_ROLE_CHOICES } from "@/lib/audit/actions";
import { AUDIT_OUTCOMES } from "@/lib/audit/audit";
import { AUDIT_OUTCOME_LABELS } from "@/lib/audit/audit-format";
import type { AuditQuery } from "@/lib/audit/audit-query";

const field = "block w-full rounded border border-slate-300 bg-white px-2 py-1.5 text-sm";
const label = "block text-xs font-medium text-slate-700";

/**
 * The filters as a plain GET form: submitting it puts them in the URL (page 1), so a filtered view can be bookmarked
 * and works without JavaScript.
 */
export function AuditFilterForm({ query }: { query: AuditQuery }) {
  return (
    <form method="get" action="/admin/audit" className="grid gap-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:grid-cols-3 lg:grid-cols-7" aria-label="Filter the audit trail" data-testid="audit-filters">
      <div className="lg:col-span-2">
        <label htmlFor="audit-action" className={label}>
          Action (starts with)
        </label>
        <input id="audit-action" name="action" list="audit-action-prefixes" defaultValue={query.action ?? ""} className={field} placeholder="e.g. cds. or report.export" />
        <datalist id="audit-action-prefixes">
          {AUDIT_ACTION_PREFIXES.map((p) => (
            <option key={p.prefix} value={p.prefix}>
              {p.label}
            </option>
          ))}
        </datalist>
      </div>
      <div className="lg:col-span-2">
        <label htmlFor="audit-actor" className={label}>
          Actor (exactly)
        </label>
        <input id="audit-actor" name="actor" defaultValue={query.actor ?? ""} className={field} placeholder="e.g. Practitioner/123" />
      </div>
      <div>
        <label htmlFor="audit-role" className={label}>
          Role
        </label>
        <select id="audit-role" name="role" defaultValue={query.role ?? ""} className={field}>
          <option value="">Any</option>
          {AUDIT_ROLE_CHOICES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="audit-outcome" className={label}>
          Outcome
        </label>
        <select id="audit-outcome" name="outcome" defaultValue={query.outcome ?? ""} className={field}>
          <option value="">Any</option>
          {AUDIT_OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {AUDIT_OUTCOME_LABELS[o]}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="audit-size" className={label}>
          Per page
        </label>
        <select id="audit-size" name="size" defaultValue={String(query.size)} className={field}>
          {[25, 50, 100, 200].map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="audit-from" className={label}>
          From (UTC day)
        </label>
        <input id="audit-from" name="from" type="date" defaultValue={query.from ?? ""} className={field} />
      </div>
      <div>
        <label htmlFor="audit-to" className={label}>
          To (UTC day, inclusive)
        </label>
        <input id="audit-to" name="to" type="date" defaultValue={query.to ?? ""} className={field} />
      </div>
      <div className="flex items-end gap-3 sm:col-span-3 lg:col-span-5">
        <button type="submit" className="rounded bg-brand px-3 py-1.5 text-sm font-medium text-white hover:opacity-90">
          Filter
        </button>
        <Link href="/admin/audit" className="text-sm font-medium text-brand underline underline-offset-2">
          Clear
        </Link>
      </div>
    </form>
  );
}
