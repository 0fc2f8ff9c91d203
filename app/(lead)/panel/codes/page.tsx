import type { Metadata } from "next";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE } from "@/lib/app/db-unavailable";
import { RoleRefusal } from "@/app/role-refusal";
import { pgPool } from "@/lib/db/pool";
import { readSources } from "@/lib/panel/sync-status";
import { panelGate, PANEL_ROLES } from "../_server/gate";
import { CodeCoverageView } from "./_components/code-coverage-view";

export const metadata: Metadata = { title: "Code coverage" };
export const dynamic = "force-dynamic";

/** The sources are read here; the stored coverage view loads in the browser, which follows a computation under way. */
export default async function CodeCoveragePage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const gate = await panelGate();
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="code coverage page" allowed={PANEL_ROLES} />;
  const params = await searchParams;
  const requested = typeof params.source === "string" && params.source ? params.source : null;
  let sources: Array<{ id: string; name: string; lastSuccessAt: string | null }> = [];
  try {
    sources = (await readSources(pgPool())).map((s) => ({ id: s.id, name: s.name, lastSuccessAt: s.lastSuccessAt }));
  } catch {
    // The database did not answer: the coverage request below shows the error with a retry.
  }
  const source = requested && sources.some((s) => s.id === requested) ? requested : null;
  return <CodeCoverageView sources={sources} source={source} />;
}
