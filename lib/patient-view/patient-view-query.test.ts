import { describe, expect, it } from "vitest";
import { fetchPatientView, PatientViewRequestError, patientViewUrl } from "./patient-view-query";
import { patientView } from "./fixtures.test-helper";

function fakeFetch(status: number, body: unknown): typeof fetch {
  return (async () => new Response(typeof body === "string" ? body : JSON.stringify(body), { status })) as typeof fetch;
}

describe("patient view request", () => {
  it("encodes the patient id into the app's own API path", () => {
    expect(patientViewUrl("a/b c")).toBe("/api/patients/a%2Fb%20c");
  });

  it("returns the body on success", async () => {
    const view = patientView();
    await expect(fetchPatientView("p1", fakeFetch(200, view))).resolves.toEqual(view);
  });

  it("turns a 401 into an error that asks for a relaunch", async () => {
    const error = await fetchPatientView("p1", fakeFetch(401, { error: "session-expired", relaunch: "/relaunch" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PatientViewRequestError);
    expect((error as PatientViewRequestError).code).toBe("session-expired");
    expect((error as PatientViewRequestError).needsRelaunch).toBe(true);
    expect((error as PatientViewRequestError).relaunch).toBe("/relaunch");
  });

  it("keeps the refusal code of a 403 and survives a non-JSON error body", async () => {
    const refused = (await fetchPatientView("p1", fakeFetch(403, { error: "patient-not-in-context" })).catch((e: unknown) => e)) as PatientViewRequestError;
    expect(refused.code).toBe("patient-not-in-context");
    expect(refused.needsRelaunch).toBe(false);
    const html = (await fetchPatientView("p1", fakeFetch(502, "<html>bad gateway</html>")).catch((e: unknown) => e)) as PatientViewRequestError;
    expect(html.status).toBe(502);
    expect(html.code).toBe("unknown");
  });
});
