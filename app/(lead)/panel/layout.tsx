import type { ReactNode } from "react";
import { DATABASE_OUTAGE } from "@/lib/app/db-unavailable";
import { panelGate } from "./_server/gate";
import { PanelHeading, PanelTabs } from "./_components/panel-tabs";

/**
 * The clinic lead's panel: a heading and the tabs. A user the panel refuses sees only the page's refusal
 * (each page checks the role itself and renders it), without the panel's navigation.
 */
export default async function PanelLayout({ children }: { children: ReactNode }) {
  const gate = await panelGate();
  if (gate === DATABASE_OUTAGE || !gate.ok) return <>{children}</>;
  return (
    <div className="space-y-4">
      <div>
        <PanelHeading />
        <p className="text-sm text-slate-600">Every synced patient on a JAK inhibitor, evaluated by the same rules as the patient view.</p>
      </div>
      <PanelTabs />
      {children}
    </div>
  );
}
