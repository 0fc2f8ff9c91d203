/**
 * An evaluation thread (started by evaluate-patients.ts): its own small pg pool, the same batch loop as the
 * parent's single loop over the tasks it is given (contiguous id ranges), each committed batch reported.
 * Protocol: "ready" once the modules are loaded; then one "start" with the tasks; "abort" stops after the
 * batch in hand; the thread answers "done" or "error" and exits.
 */
import { parentPort, workerData } from "node:worker_threads";
import pg from "pg";
import { runEvaluationTask, serializeError, type FromThread, type ThreadData, type ToThread } from "./evaluate-patients";

async function runThread(port: NonNullable<typeof parentPort>, data: ThreadData): Promise<void> {
  const controller = new AbortController();
  const send = (message: FromThread) => port.postMessage(message);
  const tasks = await new Promise<ToThread & { type: "start" }>((resolve) => {
    port.on("message", (message: ToThread) => {
      if (message.type === "start") resolve(message);
      else controller.abort(new Error("evaluation aborted"));
    });
    send({ type: "ready" });
  });
  const pool = new pg.Pool({ ...data.connection, max: data.poolSize });
  // An idle client losing its connection must not kill the thread; the next query reports the failure.
  pool.on("error", () => undefined);
  try {
    let evaluated = 0;
    for (const task of tasks.tasks) {
      evaluated += await runEvaluationTask(pool, task, data.settings, { index: data.loop, onBatch: (batch) => send({ type: "batch", ...batch }), signal: controller.signal });
    }
    send({ type: "done", evaluated });
  } catch (error) {
    send({ type: "error", error: serializeError(error) });
  } finally {
    await pool.end().catch(() => undefined);
    // Nothing left to wait for: let the thread exit.
    port.removeAllListeners("message");
    port.unref();
  }
}

if (parentPort) void runThread(parentPort, workerData as ThreadData);
