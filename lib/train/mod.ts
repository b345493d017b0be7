/**
 * Training: {@linkcode train} one network (or several replicas side by side) under a learning-rate
 * schedule, with snapshots where the {@linkcode SnapshotPolicy} says; {@linkcode collect} and
 * {@linkcode fold} consume the events; {@linkcode planRun} checks a config and shows its plan
 * before anything runs.
 *
 * The fold's internals (`nextSegment`, `foldSegment`, `RunState`) are importable from
 * `./fold.ts` for tests and tools, not re-exported here.
 *
 * @example A plain baseline: a constant rate, a snapshot every 5 epochs
 * ```ts
 * import { collect, constant, createCpuBackend, everyEpochs, mlp, sgd, train } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const backend = createCpuBackend();
 * const result = await collect(train({
 *   backend,
 *   model: mlp({ layers: [2, 4, 2] }),
 *   optimizer: sgd(),
 *   schedule: constant(0.05),
 *   snapshots: everyEpochs(5),
 *   epochs: 10,
 *   batchSize: 2,
 *   data: { x: new Float32Array([0, 0, 1, 1, 0, 1, 1, 0]), y: new Int32Array([0, 0, 1, 1]), n: 4 },
 * }));
 * assert.deepEqual(result.snapshots.map((s) => s.epoch), [4, 9]);
 * assert.equal(result.done.params.length, 2 * 4 + 4 + 4 * 2 + 2);
 * backend.dispose();
 * ```
 *
 * @module
 */
export {
  type Checkpoint,
  type DataInput,
  planRun,
  type RunPlan,
  type TrainConfig,
} from "./config.ts";
export type {
  CheckpointEvent,
  DoneEvent,
  EpochEvent,
  SnapshotEvent,
  TrainEvent,
  TrainResult,
} from "./events.ts";
export {
  atCycleEnds,
  type AtCycleEndsPolicy,
  atEpochs,
  type AtEpochsPolicy,
  everyEpochs,
  type EveryEpochsPolicy,
  none,
  type NoSnapshotsPolicy,
  type SnapshotPolicy,
} from "./policy.ts";
export { collect, fold, train } from "./train.ts";
