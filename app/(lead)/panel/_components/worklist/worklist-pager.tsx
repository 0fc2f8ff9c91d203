"use client";

import { withFilters, type PanelFilters } from "@/lib/panel/filters";
import type { WorklistPage } from "@/lib/panel/types";

/** Previous / next and where this page sits among all the rows. */
export function WorklistPager({ page, filters, navigate }: { page: WorklistPage; filters: PanelFilters; navigate: (next: PanelFilters) => void }) {
  const first = (page.page - 1) * page.pageSize + 1;
  const last = Math.min(page.total, page.page * page.pageSize);
  const beyond = page.page > page.pageCount;
  const button = "rounded border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-50";
  return (
    <nav aria-label="Pages" className="flex flex-wrap items-center justify-between gap-2 text-sm">
      <p className="text-slate-700">
        {beyond ? `Page ${page.page} is past the last page (${page.pageCount}).` : `Rows ${first.toLocaleString("en-US")} to ${last.toLocaleString("en-US")} of ${page.total.toLocaleString("en-US")}`}
      </p>
      <div className="flex items-center gap-2">
        <button type="button" className={button} disabled={page.page <= 1} onClick={() => navigate(withFilters(filters, { page: Math.min(page.page - 1, page.pageCount) }))}>
          Previous
        </button>
        <span className="tabular-nums text-slate-700">
          Page {page.page} of {page.pageCount}
        </span>
        <button type="button" className={button} disabled={page.page >= page.pageCount} onClick={() => navigate(withFilters(filters, { page: page.page + 1 }))}>
          Next
        </button>
      </div>
    </nav>
  );
}
