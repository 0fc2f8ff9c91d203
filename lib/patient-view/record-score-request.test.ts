import { describe, expect, it } from "vitest";
import { postScore, recordedMessage, RecordScoreRequestError, recordScoreUrl } from "./record-score-request";

const body = { measure: "itch-nrs", value: 5, effectiveDateTime: "2026-11-01" } as const;

describe("postScore", () => {
  it("POSTs JSON to the patient's observations route and returns the created id", async () => {
    let seen: { url: string; init?: RequestInit } | undefined;
    const fetchStub: typeof fetch = async (url, init) => {
      seen = { url: String(url), ...(init ? { init } : {}) };
      return new Response(JSON.stringify({ id: "o1", ...body }), { status: 201 });
    };
    const result = await postScore("p 1", body, fetchStub);
    expect(result.id).toBe("o1");
    expect(seen?.url).toBe("/api/patients/p%201/observations");
    expect(seen?.init?.method).toBe("POST");
    expect((seen?.init?.headers as Record<string, string>)["content-type"]).toBe("application/json");
    expect(JSON.parse(String(seen?.init?.body))).toEqual(body);
    expect(recordScoreUrl("a")).toBe("/api/patients/a/observations");
  });

  it.each([
    [403, { error: "no-write-scope" }, /does not allow this app to record/],
    [401, { error: "session-expired", relaunch: "/relaunch?reason=session-expired" }, /Launch the app again/],
    [400, { error: "invalid-score", issues: [{ path: "value", message: "itch-nrs must be 0-10" }] }, /value: itch-nrs must be 0-10/],
    [502, { error: "fhir-write-failed" }, /try again/],
  ])("turns HTTP %i %j into a typed error with a message", async (status, errorBody, message) => {
    const fetchStub: typeof fetch = async () => new Response(JSON.stringify(errorBody), { status });
    const error = await postScore("p1", body, fetchStub).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordScoreRequestError);
    expect((error as RecordScoreRequestError).status).toBe(status);
    expect((error as RecordScoreRequestError).code).toBe(errorBody.error);
    expect((error as Error).message).toMatch(message);
  });

  it("reports a non-JSON failure and a network failure as not recorded", async () => {
    const html: typeof fetch = async () => new Response("<html>", { status: 500 });
    await expect(postScore("p1", body, html)).rejects.toThrow(/HTTP 500\). It was not recorded/);
    const down: typeof fetch = async () => Promise.reject(new TypeError("failed"));
    await expect(postScore("p1", body, down)).rejects.toThrow(/not recorded/);
  });

  it("says what was recorded", () => {
    expect(recordedMessage({ id: "o1", measure: "easi", value: 12.4, effectiveDateTime: "2026-11-01" })).toBe("EASI 12.4 recorded for 2026-11-01.");
  });
});
