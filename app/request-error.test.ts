import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { DatabaseUnavailable } from "./database-unavailable";
import { RequestError, type RequestErrorWording } from "./request-error";

const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/&#x27;/g, "'").replace(/\s+/g, " ");

const WORDING: RequestErrorWording = { roles: "the clinic lead role", forbiddenTitle: "Not for your role", subject: "the panel", failedTitle: "Could not load the panel's data" };

/** What the panel's and the reports' API clients throw: status, the API's error code, rejected parameters, relaunch link. */
function apiFailure(status: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { status, code, problems: [], relaunch: status === 401 ? "/relaunch?reason=no-session" : undefined });
}

describe("DatabaseUnavailable", () => {
  it("from a server page: says the database is not answering and reloads the page by itself", () => {
    const html = renderToStaticMarkup(createElement(DatabaseUnavailable));
    expect(text(html)).toContain("The app's database is not answering; this page will retry");
    expect(html).toContain('<meta http-equiv="refresh" content="5"/>');
    expect(text(html)).not.toMatch(/relaunch|session has ended/i);
  });

  it("inside a client view: retries through the view instead of reloading the page", () => {
    const html = renderToStaticMarkup(createElement(DatabaseUnavailable, { onRetry: () => undefined, retrySeconds: 10 }));
    expect(text(html)).toContain("tries again every 10 seconds");
    expect(html).not.toContain("http-equiv");
  });
});

describe("RequestError", () => {
  it("shows the database notice, not a relaunch, for the API's database-unavailable 503", () => {
    const html = renderToStaticMarkup(createElement(RequestError, { error: apiFailure(503, "database-unavailable", "The app's database is not answering."), wording: WORDING, onRetry: () => undefined }));
    expect(text(html)).toContain("database is not answering; this page will retry");
    expect(text(html)).not.toMatch(/Relaunch|session has ended/);
  });

  it("keeps its other answers: relaunch for a 401, the failure with a retry for another 503", () => {
    expect(text(renderToStaticMarkup(createElement(RequestError, { error: apiFailure(401, "no-session", "Launch again."), wording: WORDING })))).toContain("Your session has ended");
    const queue = text(renderToStaticMarkup(createElement(RequestError, { error: apiFailure(503, "queue-unavailable", "The job queue did not answer."), wording: WORDING, onRetry: () => undefined })));
    expect(queue).toContain("Could not load the panel's data");
    expect(queue).not.toContain("this page will retry");
  });
});
