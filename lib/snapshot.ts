/**
 * The snapshot: parameters frozen at the last step of a cycle, with where they were taken.
 *
 * @module
 */
import type { MlpSpec } from "./model/mod.ts";

/** Parameters frozen at a cycle end. */
export interface Snapshot {
  /** 1-based position among the run's snapshots. */
  readonly index: number;
  /** 0-based epoch during which the snapshot was taken (its last step belongs to this epoch). */
  readonly epoch: number;
  /** 0-based optimizer step after which the parameters were copied. */
  readonly step: number;
  /** Learning rate of that step (the cycle's minimum). */
  readonly lr: number;
  /** The network the parameters belong to. */
  readonly spec: MlpSpec;
  /** [paramCount(spec)] a copy of the parameters (layout: see `layerViews`). */
  readonly params: Float32Array;
  /** Which of the run's replicas it belongs to, when several were trained side by side. */
  readonly replica?: number;
}
