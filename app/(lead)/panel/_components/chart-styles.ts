import type { DrugId } from "@/lib/clinical/types";

/** One colour (Okabe-Ito), dash pattern and marker per drug, so colour is never the only cue. */
export const DRUG_STYLES: Record<DrugId, { colour: string; dash: string | undefined; marker: string; shape: "circle" | "square" | "triangle" | "diamond" }> = {
  upadacitinib: { colour: "#0072B2", dash: undefined, marker: "●", shape: "circle" },
  abrocitinib: { colour: "#D55E00", dash: "6 3", marker: "■", shape: "square" },
  baricitinib: { colour: "#007A5A", dash: "2 3", marker: "▲", shape: "triangle" },
  "ruxolitinib-cream": { colour: "#A6427C", dash: "8 3 2 3", marker: "◆", shape: "diamond" },
};
