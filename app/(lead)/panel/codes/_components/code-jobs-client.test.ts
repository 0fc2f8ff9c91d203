import { QueryClient } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CodeCoverageResponse } from "@/lib/panel/code-coverage";
import { CODE_JOB_POLL_MS, codeCoverageViewQueryOptions, followCoverageJob } from "./code-jobs-client";

const JOB = "6f1c2b9e-0d4a-4e8b-9c3f-2a1b0c9d8e7f";
const answer = (job: CodeCoverageResponse["job"]): CodeCoverageResponse => ({ source: null, computedAt: null, coverage: null, job, problem: null });

function stubFetch(body: CodeCoverageResponse) {
  const urls: string[] = [];
  vi.stubGlobal("fetch", async (url: string) => (urls.push(url), new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } })));
  return urls;
}

async function ask(client: QueryClient, source: string | null): Promise<CodeCoverageResponse> {
  const options = codeCoverageViewQueryOptions(client, source);
  return client.fetchQuery({ ...options, staleTime: 0 });
}

function interval(client: QueryClient, source: string | null): number | false | undefined {
  const options = codeCoverageViewQueryOptions(client, source);
  const refetchInterval = options.refetchInterval;
  if (typeof refetchInterval !== "function") return refetchInterval;
  const query = client.getQueryCache().find({ queryKey: options.queryKey });
  return refetchInterval(query as unknown as Parameters<typeof refetchInterval>[0]);
}

afterEach(() => vi.unstubAllGlobals());

describe("the code-coverage page follows a computation until it lands", () => {
  it("keeps asking about the computation the last answer named while it is queued or running, then stops", async () => {
    const client = new QueryClient();
    const urls = stubFetch(answer({ jobId: JOB, state: "queued" }));
    await ask(client, "clinic-a");
    expect(urls).toEqual(["/api/panel/code-coverage?source=clinic-a"]);
    expect(interval(client, "clinic-a")).toBe(CODE_JOB_POLL_MS);

    const next = stubFetch(answer({ jobId: JOB, state: "done" }));
    await ask(client, "clinic-a");
    expect(next).toEqual([`/api/panel/code-coverage?source=clinic-a&job=${JOB}`]);
    expect(interval(client, "clinic-a")).toBe(false);

    // Done: the next read asks for the stored view alone.
    const after = stubFetch(answer(null));
    await ask(client, "clinic-a");
    expect(after).toEqual(["/api/panel/code-coverage?source=clinic-a"]);
  });

  it("follows a computation started elsewhere (a refresh, a mapping's re-evaluation) in the shown view", async () => {
    const client = new QueryClient();
    stubFetch(answer(null));
    await ask(client, null);
    const urls = stubFetch(answer({ jobId: JOB, state: "running" }));
    await followCoverageJob(client, JOB);
    await ask(client, null);
    expect(urls.at(-1)).toBe(`/api/panel/code-coverage?job=${JOB}`);
    expect(interval(client, null)).toBe(CODE_JOB_POLL_MS);
  });
});
