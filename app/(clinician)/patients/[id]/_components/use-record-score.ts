"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { RecordScoreRequest } from "@/lib/fhir/score-types";
import { patientViewQueryOptions } from "@/lib/patient-view/patient-view-query";
import { postScore } from "@/lib/patient-view/record-score-request";

/** Records one score; on success the patient view is refetched so the new point appears in its trend. */
export function useRecordScore(patientId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: RecordScoreRequest) => postScore(patientId, body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: patientViewQueryOptions(patientId).queryKey }),
  });
}
