import { RequestError, type RequestErrorWording } from "@/app/request-error";

const REPORT_WORDING: RequestErrorWording = {
  roles: "the quality analyst or clinic lead role",
  forbiddenTitle: "This is not available for your role",
  subject: "the report",
  failedTitle: "Could not load the report",
};

/** A report request's failure and what to do about it (app/request-error.tsx). */
export function ReportError({ error, onRetry, resetHref }: { error: Error; onRetry?: () => void; resetHref?: string }) {
  return <RequestError error={error} wording={REPORT_WORDING} onRetry={onRetry} resetHref={resetHref} />;
}
