/**
 * Per-step statistics kept in host memory by the backends that run on the CPU (cpu, wasm): loss
 * and correct counts of every step since the last read, `[steps, replicas]`, in buffers that grow
 * by doubling so that a run allocates them a handful of times, never per step.
 *
 * @module
 */
import type { StepStats } from "./backend.ts";

/** The statistics buffers of one session. */
export class HostStats {
  /** [capacity, replicas] mean loss of each step's batch. */
  loss: Float32Array = new Float32Array(0);
  /** [capacity, replicas] correctly classified samples of each step's batch. */
  correct: Float32Array = new Float32Array(0);
  /** Steps recorded since the last {@linkcode HostStats.take}. */
  steps = 0;
  readonly #replicas: number;

  constructor(replicas: number) {
    this.#replicas = replicas;
  }

  /** Makes room for `steps` more steps (call before a run writes its rows). */
  reserve(steps: number): void {
    const needed = (this.steps + steps) * this.#replicas;
    if (needed <= this.loss.length) return;
    const capacity = Math.max(needed, 2 * this.loss.length, 64 * this.#replicas);
    const loss = new Float32Array(capacity);
    const correct = new Float32Array(capacity);
    loss.set(this.loss);
    correct.set(this.correct);
    this.loss = loss;
    this.correct = correct;
  }

  /** The recorded steps' statistics (copies), and a fresh start. */
  take(): StepStats {
    const end = this.steps * this.#replicas;
    const stats = { loss: this.loss.slice(0, end), correct: this.correct.slice(0, end) };
    this.steps = 0;
    return stats;
  }

  /** Drops the buffers (a disposed session). */
  clear(): void {
    this.loss = this.correct = new Float32Array(0);
    this.steps = 0;
  }
}
