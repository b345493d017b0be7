/**
 * Seeded initialisation of a network's parameters (Glorot or He uniform weights, zero biases).
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, validation } from "../validation.ts";
import { randomState } from "../random.ts";
import { layerViews, paramCount } from "./layout.ts";
import type { Init, ModelSpec } from "./spec.ts";

const INITS: ReadonlyArray<Init> = ["glorot", "he"];

/** Options of {@linkcode initParams}. */
export interface InitOptions {
  /** Seed of the random state that draws the weights. */
  readonly seed: number | number[];
  /** `"glorot"` (default; Keras' default) or `"he"` uniform. */
  readonly init?: Init;
  /** Number of stacked models, each with its own draws (default 1). */
  readonly replicas?: number;
}

/**
 * Seeded initial parameters: weights uniform in `[-limit, limit)` with `limit = sqrt(6 / (fanIn +
 * fanOut))` (Glorot uniform, Keras' default kernel initializer; Glorot & Bengio, AISTATS 2010) or
 * `sqrt(6 / fanIn)` (He uniform; He et al., ICCV 2015), and zero biases.
 *
 * Draw order: one `randomState(seed)`; replica by replica, layer by layer, each weight matrix in its
 * row-major `[inDim, outDim]` order, one `uniform(-limit, limit)` per weight. So replica 0 of a
 * stacked init equals a single init with the same seed, and replica `k` continues the stream.
 *
 * @example
 * ```ts
 * import { initParams, layerViews, mlp, paramCount } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 25, 3] });
 * const params = initParams(spec, { seed: 7, replicas: 2 });
 * assert.equal(params.length, 2 * paramCount(spec));
 * const limit = Math.sqrt(6 / (2 + 25));
 * assert.ok(layerViews(spec, params)[0].weights.every((w) => Math.abs(w) <= limit));
 * assert.ok(layerViews(spec, params, 1)[1].bias.every((b) => b === 0));
 * assert.deepEqual(initParams(spec, { seed: 7 }), params.subarray(0, paramCount(spec)));
 * ```
 *
 * @param spec The network.
 * @param options The seed, the init scheme and the number of replicas.
 * @returns [replicas, paramCount(spec)] parameters.
 * @throws {ConfigError} naming every bad option.
 */
export function initParams(spec: ModelSpec, options: InitOptions): Float32Array {
  const { seed, init = spec?.init ?? "glorot", replicas = 1 } = options ?? ({} as InitOptions);
  const issues: ConfigIssue[] = [];
  if (typeof seed === "number") issues.push(...check.nonNegativeInt("seed", seed));
  else if (!Array.isArray(seed) || !seed.every((s) => Number.isSafeInteger(s) && s >= 0)) {
    issues.push({
      field: "seed",
      message: "must be a non-negative integer or an array of them",
      got: seed,
    });
  }
  issues.push(...check.oneOf("init", init, INITS));
  issues.push(...check.positiveInt("replicas", replicas));
  orThrow("Cannot initialise parameters", validation(issues, undefined));
  const random = randomState(seed);
  const count = paramCount(spec);
  const params = new Float32Array(replicas * count);
  for (let r = 0; r < replicas; r++) {
    for (const view of layerViews(spec, params, r)) {
      const limit = init === "he"
        ? Math.sqrt(6 / view.inDim)
        : Math.sqrt(6 / (view.inDim + view.outDim));
      const w = view.weights;
      for (let k = 0; k < w.length; k++) w[k] = random.uniform(-limit, limit);
    }
  }
  return params;
}
