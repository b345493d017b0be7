/**
 * When `createBackend("auto", { model })` takes the CPU without asking for a WebGPU adapter at
 * all: for a tiny model, whose arithmetic per step is smaller than one GPU dispatch's fixed cost
 * (each readback alone takes about 11 ms; the CPU trains the tutorial's 153-parameter model for
 * 2000 steps in about 19 ms). Not asking also spares the adapter probe, which on a Linux machine
 * without a display prints `error: XDG_RUNTIME_DIR is invalid or not set` twice from Vulkan's
 * loader. A cost model of the backends may replace this threshold.
 *
 * @module
 */
import { type MlpSpec, paramCount } from "../model/mod.ts";

/** Models with fewer parameters than this train on the CPU under `auto`. */
export const TINY_MODEL_PARAMS = 10_000;

/**
 * Whether `auto` should take the CPU for this model without probing WebGPU.
 *
 * @example
 * ```ts
 * import { isTinyModel } from "./_auto_rule.ts";
 * import { mlp } from "../model/mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isTinyModel(mlp({ layers: [2, 25, 3] })), true); // 153 parameters
 * assert.equal(isTinyModel(mlp({ layers: [784, 256, 10] })), false);
 * assert.equal(isTinyModel(undefined), false);
 * ```
 *
 * @param model The model to train, when the caller gave it.
 * @returns `true` for a model under {@linkcode TINY_MODEL_PARAMS} parameters.
 */
export function isTinyModel(model: MlpSpec | undefined): boolean {
  return model !== undefined && paramCount(model) < TINY_MODEL_PARAMS;
}
