// Stands in for one app instance in lib/jobs/queue.int.test.ts: sends the requests of EJM_REQUESTS (JSON) at once
// through lib/jobs/queue on DATABASE_URL, prints what they returned as one JSON line, and exits.
import { closeJobs, requestEvaluation, requestSync, type SyncTrigger } from "../queue";

interface Requests {
  syncs: Array<{ sourceId: string; trigger: SyncTrigger }>;
  evaluations: Array<{ sourceId: string; patientIds: string[]; reason: string }>;
}

const requests = JSON.parse(process.env.EJM_REQUESTS ?? '{"syncs":[],"evaluations":[]}') as Requests;
try {
  const [syncs] = await Promise.all([
    Promise.all(requests.syncs.map((s) => requestSync(s))),
    Promise.all(requests.evaluations.map((e) => requestEvaluation(e))),
  ]);
  console.log(JSON.stringify({ syncs }));
} finally {
  await closeJobs();
}
process.exit(0);
