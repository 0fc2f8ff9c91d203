"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { codeReevaluationQueryOptions, followCoverageJob, jobPending } from "./code-jobs-client";

/**
 * A mapping change's re-evaluation as it goes: queued, running, then how many patients with the code were
 * re-evaluated. When it is done the coverage view follows the recomputation the job queued.
 */
export function ReevaluationProgress({ jobId }: { jobId: string }) {
  const queryClient = useQueryClient();
  const query = useQuery(codeReevaluationQueryOptions(jobId));
  const coverageJobId = query.data?.state === "done" ? (query.data.result?.coverageJobId ?? null) : null;

  useEffect(() => {
    if (coverageJobId) void followCoverageJob(queryClient, coverageJobId);
  }, [queryClient, coverageJobId]);

  if (query.isError) {
    return (
      <p role="alert" className="text-status-critical">
        {query.error.message}
      </p>
    );
  }
  const data = query.data;
  const pending = !data || jobPending(data.state);
  const tone = data?.state === "failed" ? "text-status-critical" : pending ? "text-slate-700" : "text-status-ok";
  return (
    <p role="status" className={tone} data-testid="reevaluation-status" data-state={data?.state ?? "queued"}>
      {data ? data.message : "Re-evaluation queued."}
      {data?.state === "done" && coverageJobId ? " The code coverage below is being recomputed." : ""}
    </p>
  );
}
