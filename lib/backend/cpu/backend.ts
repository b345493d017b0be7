/**
 * The CPU backend: plain TypeScript loops on typed arrays. It is the oracle every other backend is
 * checked against, and on a software WebGPU adapter it is also the fastest choice for small models.
 *
 * Every buffer of a session is allocated when the session is created (or when a plan brings a larger
 * batch than seen before); the step loop allocates nothing. Matrix products are register-blocked
 * (lib/ops/_dense_blocked.ts, lib/ops/_dense_sparse.ts); when the training inputs are mostly zeros (MNIST pixels), the first
 * layer visits only the nonzeros, which is exact; the gradient with respect to the network's input
 * is never computed. Prediction of stacked members makes one pass over blocks of rows, running every
 * member on a block before the next.
 *
 * @module
 */
import { SnapfoldError } from "../../errors.ts";
import { orThrow } from "../../validation.ts";
import { inputDim, outputDim, paramCount, paramLayout } from "../../model/mod.ts";
import { optimizerStateSize } from "../../optimizers/mod.ts";
import type { Backend, PredictOptions, SessionOptions, TrainingSession } from "../backend.ts";
import { validatePredict, validateSession } from "../_validate.ts";
import { combineRows } from "../../ops/combine.ts";
import { CpuSession } from "./_session.ts";
import { forwardRows, makeWorkspace, prepareInputs, sparseModeFor } from "./_workspace.ts";

export { lossAndGradient, type LossAndGradientOptions } from "./_workspace.ts";

/**
 * Rows per block of prediction: every member runs over one block before the next block starts, so
 * the block's inputs (and their nonzeros) are read from cache by all members; 256 rows of MNIST
 * with its nonzeros take about 2 MB.
 */
const PREDICT_BLOCK = 256;

/**
 * Creates the CPU backend.
 *
 * @example Train two replicas for a few steps, then predict with both
 * ```ts
 * import { createCpuBackend, initParams, mlp, sgd } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const backend = createCpuBackend();
 * const spec = mlp({ layers: [2, 8, 2] });
 * const x = new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]); // [4, 2]
 * const y = new Int32Array([0, 1, 1, 0]);
 * const session = await backend.createSession({
 *   spec,
 *   optimizer: sgd({ momentum: 0.9 }),
 *   params: initParams(spec, { seed: 1, replicas: 2 }),
 *   replicas: 2,
 *   data: { x, y, n: 4 },
 * });
 * const steps = 50;
 * session.run({
 *   indices: new Int32Array(steps * 4).map((_, k) => k % 4),
 *   offsets: new Int32Array(steps + 1).map((_, s) => 4 * s),
 *   lrs: new Float32Array(steps).fill(0.1),
 * });
 * const stats = await session.readStats(); // [steps, replicas]
 * assert.equal(stats.loss.length, steps * 2);
 * assert.ok(stats.loss[(steps - 1) * 2] < stats.loss[0]);
 * const probs = await backend.predict({ spec, params: await session.readParams(), members: 2, x, n: 4 });
 * assert.equal(probs.length, 8);
 * backend.dispose();
 * await assert.rejects(session.readParams(), /session was disposed/);
 * ```
 *
 * @returns A backend whose sessions train on the CPU.
 */
export function createCpuBackend(): Backend {
  const sessions = new Set<CpuSession>();
  let disposed = false;
  const assertLive = (what: string) => {
    if (disposed) {
      throw new SnapfoldError(
        `Cannot ${what}: the CPU backend was disposed; create a new one with createCpuBackend()`,
      );
    }
  };
  return {
    kind: "cpu",
    readCost: "free",
    adapter: null,
    softwareAdapter: false,
    readbacks: 0,
    createSession(options: SessionOptions): Promise<TrainingSession> {
      try {
        assertLive("create a session");
        const data = orThrow("Cannot create a training session", validateSession(options));
        const { spec, optimizer, params, replicas = 1, optimizerState, seed = 0 } = options;
        const size = replicas * optimizerStateSize(optimizer, paramCount(spec));
        const session = new CpuSession(
          spec,
          optimizer,
          params.slice(),
          optimizerState !== undefined ? optimizerState.slice() : new Float32Array(size),
          data,
          replicas,
          seed,
          (s) => sessions.delete(s),
          options.augment,
        );
        sessions.add(session);
        return Promise.resolve(session);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    predict(options: PredictOptions): Promise<Float32Array> {
      try {
        assertLive("predict");
        const x = orThrow("Cannot predict", validatePredict(options));
        return Promise.resolve(predictCpu(options, x));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      for (const session of [...sessions]) session.dispose();
    },
  };
}

/**
 * Fused ensemble inference: one pass over the rows in blocks; within a block, every member's forward
 * pass, softmax and weighted sum. The workspace, the compressed inputs and the output are the only
 * allocations, once per call, none per member.
 */
/**
 * The CPU backend's prediction as a plain synchronous function: all stacked members in one pass
 * over blocks of rows (each member's forward pass, softmax and the weighted mean per block), with
 * nothing allocated per member. `Backend.predict` of the CPU backend is this, wrapped in a promise.
 *
 * @example The mean of two members' probabilities
 * ```ts
 * import { initParams, mlp, paramCount } from "@snapfold/snapfold";
 * import { predictStackedCpu } from "./backend.ts";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 4, 3] });
 * const params = initParams(spec, { seed: 1, replicas: 2 }); // [2, paramCount]
 * const x = new Float32Array([0.5, -1, 2, 0]); // [2, 2]
 * const mean = predictStackedCpu({ spec, params, members: 2, x, n: 2 });
 * const each = predictStackedCpu({ spec, params, members: 2, x, n: 2, combine: "none" });
 * for (let k = 0; k < 6; k++) assert.ok(Math.abs(mean[k] - (each[k] + each[6 + k]) / 2) < 1e-6);
 * assert.equal(paramCount(spec) * 2, params.length);
 * ```
 *
 * @param options The network, the stacked parameters, the rows and how to combine them.
 * @returns `[n, outDim]` combined, or `[members, n, outDim]` with `combine: "none"`.
 * @throws {ConfigError} naming every bad option.
 */
export function predictStackedCpu(options: PredictOptions): Float32Array {
  return predictCpu(options, orThrow("Cannot predict", validatePredict(options)));
}

function predictCpu(options: PredictOptions, x: Float32Array): Float32Array {
  const { spec, params, members = 1, n, combine = "mean", weights } = options;
  const P = paramCount(spec);
  const inDim = inputDim(spec);
  const outDim = outputDim(spec);
  const depth = paramLayout(spec).layers.length;
  const block = Math.min(n, PREDICT_BLOCK);
  const ws = makeWorkspace<Float32Array>(
    spec,
    block,
    Float32Array,
    sparseModeFor(x, n * inDim, false),
  );
  const separate = combine === "none";
  const out = new Float32Array((separate ? members : 1) * n * outDim);
  let total = 0;
  for (let m = 0; m < members; m++) total += weights === undefined ? 1 : weights[m];
  const input = ws.acts[0];
  const result = ws.acts[depth]; // [block, outDim] logits or outputs
  const softmax = spec.head === "softmax";
  for (let start = 0; start < n; start += block) {
    const rows = Math.min(block, n - start);
    const from = start * inDim;
    for (let k = 0; k < rows * inDim; k++) input[k] = x[from + k];
    prepareInputs(ws, rows);
    for (let m = 0; m < members; m++) {
      forwardRows(ws, params, m * P, rows, null);
      const weight = separate ? 1 : (weights === undefined ? 1 : weights[m]) / total;
      const to = ((separate ? m * n : 0) + start) * outDim;
      combineRows(result, rows, outDim, softmax, out, to, weight, !separate);
    }
  }
  return out;
}
