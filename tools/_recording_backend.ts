/**
 * What a training run really used, recorded at the backend: {@linkcode recordingBackend} wraps a
 * backend so that every session it creates keeps its options (the initial parameters copied before
 * any step), a copy of every `StepPlan` it ran and the loss of every step it read back;
 * {@linkcode joinPlans} turns one session's plans into the run's batches, lrs and resets, and
 * {@linkcode shiftsOf} draws the shift of every batch row with lib/ops/shift.ts's own functions.
 * The MNIST replica's exporter (tools/mnist_replica_export.ts) writes them out.
 *
 * @module
 */
import type { Backend, SessionOptions, StepPlan, TrainingSession } from "../mod.ts";
import { dropoutSeedKey } from "../lib/ops/dropout.ts";
import { shiftDx, shiftDy, shiftStream, shiftWord } from "../lib/ops/shift.ts";

/** What one session was given and ran. */
export interface Recorded {
  /** The session's options, its initial parameters copied at creation. */
  readonly options: SessionOptions;
  /** A copy of every plan the session ran, in order. */
  readonly plans: StepPlan[];
  /** The loss of every step, in order, as the session read it back. */
  readonly losses: number[];
}

/**
 * The backend `inner`, recording every session it creates: the options (parameters copied before
 * any step) and a copy of every plan, in order.
 */
export function recordingBackend(inner: Backend): { backend: Backend; sessions: Recorded[] } {
  const sessions: Recorded[] = [];
  const copy = (plan: StepPlan): StepPlan => ({
    indices: plan.indices.slice(),
    offsets: plan.offsets.slice(),
    lrs: plan.lrs.slice(),
    ...(plan.resets ? { resets: plan.resets.slice() } : {}),
    firstStep: plan.firstStep ?? 0,
  });
  const backend: Backend = {
    kind: inner.kind,
    adapter: inner.adapter,
    softwareAdapter: inner.softwareAdapter,
    readCost: inner.readCost,
    get readbacks() {
      return inner.readbacks;
    },
    async createSession(options) {
      const record: Recorded = {
        options: { ...options, params: options.params.slice() },
        plans: [],
        losses: [],
      };
      const session = await inner.createSession(options);
      sessions.push(record);
      const recorded: TrainingSession = {
        paramCount: session.paramCount,
        replicas: session.replicas,
        run(plan) {
          record.plans.push(copy(plan));
          session.run(plan);
        },
        async readStats() {
          const stats = await session.readStats();
          record.losses.push(...stats.loss);
          return stats;
        },
        readParams: () => session.readParams(),
        readOptimizerState: () => session.readOptimizerState(),
        dispose: () => session.dispose(),
      };
      return recorded;
    },
    predict: (options) => inner.predict(options),
    dispose: () => inner.dispose(),
  };
  return { backend, sessions };
}

/** One session's plans joined into one run: global batches, lrs and resets. */
export function joinPlans(plans: ReadonlyArray<StepPlan>) {
  const steps = plans.reduce((a, p) => a + p.lrs.length, 0);
  const rows = plans.reduce((a, p) => a + p.indices.length, 0);
  const indices = new Int32Array(rows);
  const offsets = new Int32Array(steps + 1);
  const lrs = new Float32Array(steps);
  const resets = new Uint8Array(steps);
  let s = 0;
  for (const plan of plans) {
    if (plan.firstStep !== s) {
      throw new Error(`Cannot export: a plan starts at step ${plan.firstStep}, not ${s}`);
    }
    indices.set(plan.indices, offsets[s]);
    for (let k = 0; k < plan.lrs.length; k++) {
      offsets[s + k + 1] = offsets[s] + plan.offsets[k + 1];
      lrs[s + k] = plan.lrs[k];
      resets[s + k] = plan.resets?.[k] ?? 0;
    }
    s += plan.lrs.length;
  }
  return { indices, offsets, lrs, resets, steps };
}

/** [rows, 2] (dx, dy) of every batch row of every step, as the session's shift draws them. */
export function shiftsOf(options: SessionOptions, offsets: Int32Array): Int8Array {
  const steps = offsets.length - 1;
  const out = new Int8Array(2 * offsets[steps]);
  const { maxShift } = options.augment!;
  const seedKey = dropoutSeedKey(options.seed ?? 0);
  for (let s = 0; s < steps; s++) {
    const stream = shiftStream(seedKey, s);
    for (let b = 0; b < offsets[s + 1] - offsets[s]; b++) {
      const word = shiftWord(stream, b);
      out[2 * (offsets[s] + b)] = shiftDx(word, maxShift);
      out[2 * (offsets[s] + b) + 1] = shiftDy(word, maxShift);
    }
  }
  return out;
}
