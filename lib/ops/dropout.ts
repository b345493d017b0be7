/**
 * Dropout masks from a counter-based generator: the keep decision of one unit is a pure function of
 * (seed, global step, replica, dense layer index, batch row, unit), so the CPU backend and the
 * WGSL kernel (shaders/dropout.wgsl, which mirrors {@linkcode dropoutBits}) draw the SAME masks
 * without sharing any state, and the backward pass can draw again what the forward pass drew.
 *
 * The generator chains a 32-bit integer mixer: `h = mix32(h ^ key)` for each key in turn, where
 * `mix32` is Chris Wellons' "lowbias32" (two multiply-xorshift rounds, found by his hash prospector,
 * https://nullprogram.com/blog/2018/07/31/). Every step is a bijection of 32-bit words, so
 * neighbouring counters give unrelated words. A unit is kept when its word is at least
 * `floor(rate * 2^32)` (probability `1 - rate` up to 2^-32) and kept units are scaled by
 * `1 / (1 - rate)` (inverted dropout, so prediction is the identity).
 *
 * @module
 */
import { flatGrid, type KernelCall, NO_LOOPS } from "./kernel_call.ts";
import type { FloatArray } from "./loss.ts";

/** The lowbias32 mixer on unsigned 32-bit words (mirrored by `mix32` in shaders/dropout.wgsl). */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Where a session's generator starts: the seed folded to one word (the shader's `SEED_KEY`). */
export function dropoutSeedKey(seed: number): number {
  const low = seed >>> 0;
  const high = Math.floor(seed / 4294967296) >>> 0;
  return mix32(mix32(low ^ 0x9e3779b9) ^ high);
}

/** The word of one (step, replica, layer): shared by every row and unit it draws. */
export function dropoutStream(
  seedKey: number,
  step: number,
  replica: number,
  layer: number,
): number {
  return mix32(mix32(mix32(seedKey ^ step) ^ replica) ^ layer);
}

/** The word of one batch row of a stream. */
export function dropoutRowKey(stream: number, row: number): number {
  return mix32(stream ^ row);
}

/**
 * The random word of one unit: the reference of the generator, every key spelled out.
 *
 * @param seed The session's seed (a non-negative safe integer).
 * @param step Global optimizer step.
 * @param replica Replica of the session.
 * @param layer Index of the dense layer whose outputs are dropped.
 * @param row Position of the sample in the step's batch.
 * @param unit Output unit of that layer.
 * @returns An unsigned 32-bit word.
 */
export function dropoutBits(
  seed: number,
  step: number,
  replica: number,
  layer: number,
  row: number,
  unit: number,
): number {
  return mix32(
    dropoutRowKey(dropoutStream(dropoutSeedKey(seed), step, replica, layer), row) ^ unit,
  );
}

/** Words below this are dropped: `floor(rate * 2^32)` (the shader's `THRESHOLD`). */
export function dropoutThreshold(rate: number): number {
  return Math.floor(rate * 4294967296);
}

/** The factor of kept units, `1 / (1 - rate)` rounded to float32 (the shader's `SCALE`). */
export function dropoutScale(rate: number): number {
  return Math.fround(1 / (1 - rate));
}

/**
 * Fills `mask[0 .. rows * width)` with the factors of one (step, replica, layer): 0 for a dropped
 * unit, `dropoutScale(rate)` for a kept one, row-major `[rows, width]`. Positional parameters: it
 * runs once per dropout layer per replica per step and must not allocate.
 *
 * @param mask [rows, width] receives the factors.
 * @param rows Rows of the batch.
 * @param width Units of the layer.
 * @param seedKey `dropoutSeedKey(seed)`.
 * @param step Global optimizer step.
 * @param replica Replica.
 * @param layer Index of the dense layer.
 * @param rate Dropout rate in [0, 1).
 */
export function fillDropoutMask(
  mask: FloatArray,
  rows: number,
  width: number,
  seedKey: number,
  step: number,
  replica: number,
  layer: number,
  rate: number,
): void {
  const threshold = dropoutThreshold(rate);
  const scale = dropoutScale(rate);
  const stream = dropoutStream(seedKey, step, replica, layer);
  for (let b = 0; b < rows; b++) {
    const rowKey = dropoutRowKey(stream, b);
    const row = b * width;
    for (let u = 0; u < width; u++) mask[row + u] = mix32(rowKey ^ u) >= threshold ? scale : 0;
  }
}

/** `out[k] = a[k] * mask[k]` over `[0, count)`: the forward pass of dropout (and, with `out = a`,
 * the backward pass on a gradient). */
export function applyMask(a: FloatArray, mask: FloatArray, count: number, out: FloatArray): void {
  for (let k = 0; k < count; k++) out[k] = a[k] * mask[k];
}

/** What one dropout call masks: the dense layer it follows and the session's draws. */
export interface DropoutCallShape {
  /** Index of the dense layer it follows (0-based); its output is activation `layer + 1`. */
  readonly layer: number;
  /** Units of that layer. */
  readonly width: number;
  /** Replicas. */
  readonly replicas: number;
  /** Dropout rate in [0, 1). */
  readonly rate: number;
  /** `dropoutSeedKey(seed)` of the session. */
  readonly seedKey: number;
}

/**
 * The call of shaders/dropout.wgsl after dense layer `layer`: mode 0 masks the activations into
 * the dropped copy (forward), mode 1 masks their gradient in place with the same draws (backward).
 *
 * @example
 * ```ts
 * import { dropoutCall, dropoutSeedKey } from "./dropout.ts";
 * import assert from "node:assert/strict";
 *
 * const shape = { layer: 0, width: 8, replicas: 1, rate: 0.5, seedKey: dropoutSeedKey(1) };
 * assert.deepEqual(dropoutCall(shape, 0).bindings, ["firstStep", { act: 1 }, { dropped: 1 }]);
 * assert.deepEqual(dropoutCall(shape, 1).bindings, ["firstStep", { act: 1 }, { delta: 1 }]);
 * ```
 *
 * @param shape The layer and the draws.
 * @param mode 0 forward, 1 backward.
 * @returns The call.
 */
export function dropoutCall(shape: DropoutCallShape, mode: 0 | 1): KernelCall {
  const { layer: l, width, replicas: R, rate } = shape;
  return {
    shader: "dropout",
    label: `dropout ${l + 1}${mode === 0 ? "" : " backward"}`,
    constants: {
      WIDTH: width,
      REPLICAS: R,
      LAYER: l,
      SEED_KEY: shape.seedKey,
      THRESHOLD: dropoutThreshold(rate),
      SCALE: dropoutScale(rate),
      MODE: mode,
    },
    bindings: ["firstStep", { act: l + 1 }, mode === 0 ? { dropped: l + 1 } : { delta: l + 1 }],
    grid: (rows) => flatGrid(rows * R * width),
    loopCharge: NO_LOOPS,
  };
}
