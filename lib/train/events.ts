/**
 * What a training run emits: one `epoch` event per epoch, a `snapshot` event per snapshot (per
 * replica), a `checkpoint` event every `checkpointEvery` epochs and one final `done` event.
 *
 * @module
 */
import type { ScheduleSpec } from "../schedules/mod.ts";
import type { Snapshot } from "../snapshot.ts";
import type { Checkpoint } from "./config.ts";

/** The end of an epoch, with its training statistics. */
export interface EpochEvent {
  /** The event's tag. */
  readonly type: "epoch";
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based last step of the epoch. */
  readonly step: number;
  /** Learning rate of that step. */
  readonly lr: number;
  /** Mean training loss over the epoch's samples (each computed before the step's update). */
  readonly loss: number;
  /**
   * Fraction of the epoch's samples classified correctly; absent for regression (a linear head),
   * which has no classes to count.
   */
  readonly accuracy?: number;
  /**
   * Snapshots taken so far, counting one taken at this epoch's last step (whose `snapshot` events
   * follow this event); replicas share a count, as they share snapshot indices.
   */
  readonly snapshotsTaken: number;
  /** With several replicas: each one's loss and accuracy (`loss`, `accuracy` are their means). */
  readonly replicas?: ReadonlyArray<{ readonly loss: number; readonly accuracy?: number }>;
  /**
   * Validation loss and accuracy (absent for regression) after the epoch, when validation data is
   * given and it is a report.
   */
  readonly validation?: { readonly loss: number; readonly accuracy?: number };
}

/** A snapshot was taken (the event is the snapshot itself, plus its type tag). */
export interface SnapshotEvent extends Snapshot {
  /** The event's tag. */
  readonly type: "snapshot";
}

/** A checkpoint was taken (see `checkpointEvery`). */
export interface CheckpointEvent {
  /** The event's tag. */
  readonly type: "checkpoint";
  /** What the run needs to continue from here. */
  readonly checkpoint: Checkpoint;
}

/** The run finished. */
export interface DoneEvent {
  /** The event's tag. */
  readonly type: "done";
  /** Epochs trained (in total, counting a resumed run's earlier part). */
  readonly epochs: number;
  /** Steps trained in total. */
  readonly steps: number;
  /** The snapshots kept in memory (all of them, or the last `keepLast`). */
  readonly snapshots: ReadonlyArray<Snapshot>;
  /** [replicas, paramCount] final parameters (always present, whatever the snapshot policy). */
  readonly params: Float32Array;
  /** The schedule as a function of the step, as trained. */
  readonly schedule: ScheduleSpec;
  /** Device-to-host reads this run made. */
  readonly readbacks: number;
  /** Wall time of the run in milliseconds. */
  readonly trainMs: number;
}

/** Everything `train` emits. */
export type TrainEvent = EpochEvent | SnapshotEvent | CheckpointEvent | DoneEvent;

/** What `collect` returns. */
export interface TrainResult {
  /** The snapshots kept in memory, in the order they were taken. */
  readonly snapshots: ReadonlyArray<Snapshot>;
  /** Every epoch event. */
  readonly history: ReadonlyArray<EpochEvent>;
  /** The last checkpoint emitted, if any. */
  readonly checkpoint?: Checkpoint;
  /** The final event. */
  readonly done: DoneEvent;
}
