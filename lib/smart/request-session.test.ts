import { describe, expect, it } from "vitest";
import { rememberRequestSession, takeRequestSession, type LoadedSession } from "./session-store";

const session = (id: string): LoadedSession => ({ id, data: {}, expiresAt: new Date(0), expired: false, patientId: "p1", practitionerId: "pr1", role: "dermatologist", issuer: null });

describe("the session a request's gate read", () => {
  it("is handed to that request's handler once", () => {
    const request = new Request("http://app.test/api/patients/p1");
    rememberRequestSession(request, session("s1"));
    expect(takeRequestSession(request, "s1")?.id).toBe("s1");
    expect(takeRequestSession(request, "s1")).toBeNull();
  });

  it("is not handed over for another session id or another request", () => {
    const request = new Request("http://app.test/api/patients/p1");
    rememberRequestSession(request, session("s1"));
    expect(takeRequestSession(new Request("http://app.test/api/patients/p1"), "s1")).toBeNull();
    expect(takeRequestSession(request, "s2")).toBeNull();
  });
});
