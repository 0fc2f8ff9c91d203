import type { Metadata } from "next";
import { DatabaseUnavailable } from "@/app/database-unavailable";
import { DATABASE_OUTAGE } from "@/lib/app/db-unavailable";
import { RoleRefusal } from "@/app/role-refusal";
import { pgPool } from "@/lib/db/pool";
import { CDS_FEEDBACK_PERIOD_DAYS, DEFAULT_CDS_FEEDBACK_DAYS, readCdsFeedbackSummary, type CdsFeedbackSummary } from "@/lib/panel/cds-feedback";
import { panelGate, PANEL_ROLES } from "../_server/gate";
import { CdsFeedbackView } from "./_components/cds-feedback-view";

export const metadata: Metadata = { title: "CDS cards" };
export const dynamic = "force-dynamic";

/** Per rule: CDS cards issued to the EHR, accepted and overridden, over ?days= (30, 90, 180 or 365; default 90). */
export default async function CdsFeedbackPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const gate = await panelGate();
  if (gate === DATABASE_OUTAGE) return <DatabaseUnavailable />;
  if (!gate.ok) return <RoleRefusal gate={gate} view="CDS cards page" allowed={PANEL_ROLES} />;
  const params = await searchParams;
  const asked = typeof params.days === "string" ? Number(params.days) : NaN;
  const days = (CDS_FEEDBACK_PERIOD_DAYS as readonly number[]).includes(asked) ? asked : DEFAULT_CDS_FEEDBACK_DAYS;
  let summary: CdsFeedbackSummary | null = null;
  try {
    summary = await readCdsFeedbackSummary(pgPool(), { days });
  } catch {
    // The database did not answer: the view says so and offers a reload.
  }
  return <CdsFeedbackView summary={summary} days={days} periods={CDS_FEEDBACK_PERIOD_DAYS} />;
}
