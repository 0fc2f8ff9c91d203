import { Alert, RequestError, type RequestErrorWording } from "@/app/request-error";

export { Alert };

const PANEL_WORDING: RequestErrorWording = {
  roles: "the clinic lead role",
  forbiddenTitle: "The panel is not available for your role",
  forbiddenText: "The panel is for the clinic lead role. Ask your clinic's administrator for it, then launch the app again.",
  subject: "the panel",
  failedTitle: "Could not load the panel's data",
};

/** A panel request's failure and what to do about it (app/request-error.tsx). */
export function PanelError({ error, onRetry, resetHref }: { error: Error; onRetry?: () => void; resetHref?: string }) {
  return <RequestError error={error} wording={PANEL_WORDING} onRetry={onRetry} resetHref={resetHref} />;
}
