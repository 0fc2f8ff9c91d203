/** The app's roles and where each lands after a launch. */
export type AppRole = "dermatologist" | "clinic-lead" | "quality" | "admin";
export const APP_ROLES: readonly AppRole[] = ["dermatologist", "clinic-lead", "quality", "admin"];

export function parseRole(value: unknown): AppRole | null {
  if (typeof value !== "string") return null;
  const v = value.trim().toLowerCase().replace(/[\s_]+/g, "-");
  if ((APP_ROLES as readonly string[]).includes(v)) return v as AppRole;
  if (v === "lead" || v === "clinic-lead-dermatologist" || v === "clinical-lead") return "clinic-lead";
  if (v === "quality-analyst" || v === "analyst") return "quality";
  return null;
}

/**
 * The role from a PractitionerRole resource's `code` (codings' code/display and text): a site may code the
 * app's roles as it likes, so match words.
 */
export function roleFromPractitionerRole(resource: unknown): AppRole | null {
  const codes = (resource as { code?: Array<{ text?: string; coding?: Array<{ code?: string; display?: string }> }> })?.code ?? [];
  const words: string[] = [];
  for (const cc of codes) {
    if (cc.text) words.push(cc.text);
    for (const c of cc.coding ?? []) words.push(c.code ?? "", c.display ?? "");
  }
  for (const w of words) {
    const direct = parseRole(w);
    if (direct) return direct;
  }
  const text = words.join(" ").toLowerCase();
  if (/\b(clinic|clinical) lead\b/.test(text)) return "clinic-lead";
  if (/\bquality\b/.test(text)) return "quality";
  if (/\bdermatolog/.test(text)) return "dermatologist";
  return null;
}

/** Where the callback sends the user: the patient view with a patient in context, else the role's home. */
export function landingPath(patientId: string | null, role: AppRole | null): string {
  if (patientId) return `/patients/${encodeURIComponent(patientId)}`;
  if (role === "clinic-lead") return "/panel";
  if (role === "quality") return "/reports";
  return "/relaunch?reason=no-patient";
}
