/**
 * Data augmentation by random integer translation of images (zero fill), drawn from the
 * counter-based generator of dropout (./dropout.ts): the shift of one batch row is a pure function
 * of (seed, global step, batch row), so every backend shifts the same rows the same way without
 * sharing any state. Replicas trained side by side share their batches, shifts included.
 *
 * One word per row: `w = mix32(dropoutRowKey(dropoutStream(seedKey, step, 0, SHIFT_LAYER), row))`;
 * with `span = 2 * maxShift + 1`, `dx = (w & 0xffff) % span - maxShift` (columns, positive to the
 * right) and `dy = (w >>> 16) % span - maxShift` (rows, positive downwards). Pixel (r, c) of the
 * shifted image is pixel (r - dy, c - dx) of the original, or 0 outside it.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { orThrow, type Validation, validation } from "../validation.ts";
import type { FloatArray } from "./loss.ts";
import { dropoutRowKey, dropoutStream, mix32 } from "./dropout.ts";
import { flatGrid, type KernelCall, NO_LOOPS } from "./kernel_call.ts";

/** The augmentation {@linkcode shift} builds (a train config's `augment`). */
export interface ShiftAugment {
  /** Always `"shift"`. */
  readonly kind: "shift";
  /** Pixels per image row. */
  readonly width: number;
  /** Image rows: `width * height` must be the model's input width. */
  readonly height: number;
  /** Largest shift in either direction, in pixels (0 to min(width, height) - 1). */
  readonly maxShift: number;
}

/** The layer key of the shift stream: no dense layer has this index. */
export const SHIFT_LAYER = 0xffffffff;

/**
 * Validates {@linkcode shift}'s options without throwing.
 *
 * @example
 * ```ts
 * import { validateShift } from "./shift.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = validateShift({ width: 28, height: 0, maxShift: -1 });
 * assert.equal(bad._tag, "Left");
 * if (bad._tag === "Left") assert.deepEqual(bad.left.map((i) => i.field), ["height", "maxShift"]);
 * ```
 *
 * @param options The options (any value).
 * @returns The augmentation, or every issue found.
 */
export function validateShift(
  options: { readonly width: number; readonly height: number; readonly maxShift: number },
): Validation<ShiftAugment> {
  const o = (typeof options === "object" && options !== null ? options : {}) as Record<
    string,
    unknown
  >;
  const issues: ConfigIssue[] = [];
  const posInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
  for (const field of ["width", "height"] as const) {
    if (!posInt(o[field]) || (o[field] as number) > 65535) {
      issues.push({ field, message: "must be an integer from 1 to 65535", got: o[field] });
    }
  }
  const side = Math.min(Number(o.width), Number(o.height));
  const maxShift = o.maxShift;
  if (
    !Number.isSafeInteger(maxShift) || (maxShift as number) < 0 ||
    (posInt(o.width) && posInt(o.height) && (maxShift as number) >= side)
  ) {
    issues.push({
      field: "maxShift",
      message: "must be an integer from 0 to min(width, height) - 1",
      got: maxShift,
    });
  }
  for (const key of Object.keys(o)) {
    if (!["width", "height", "maxShift"].includes(key)) {
      issues.push({ field: key, message: "is not an option of shift", got: o[key] });
    }
  }
  return validation(
    issues,
    Object.freeze({
      kind: "shift" as const,
      width: o.width as number,
      height: o.height as number,
      maxShift: maxShift as number,
    }),
  );
}

/**
 * Random integer translations of images as a training option (`augment` of `train`): every batch
 * row is shifted by up to `maxShift` pixels in each direction, the uncovered pixels set to 0.
 *
 * @example Shifted MNIST-sized digits
 * ```ts
 * import { shift } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const augment = shift({ width: 28, height: 28, maxShift: 2 });
 * assert.deepEqual(augment, { kind: "shift", width: 28, height: 28, maxShift: 2 });
 * assert.throws(() => shift({ width: 28, height: 28, maxShift: 28 }), /maxShift must be/);
 * ```
 *
 * @param options Image width and height and the largest shift.
 * @returns The augmentation.
 * @throws {ConfigError} naming every bad option.
 */
export function shift(
  options: { readonly width: number; readonly height: number; readonly maxShift: number },
): ShiftAugment {
  return orThrow("Cannot build shift", validateShift(options));
}

/** The key of one step's shifts (shared by its rows); `seedKey` is `dropoutSeedKey(seed)`. */
export function shiftStream(seedKey: number, step: number): number {
  return dropoutStream(seedKey, step, 0, SHIFT_LAYER);
}

/** The word of one batch row of a step: `dx` from its low half, `dy` from its high half. */
export function shiftWord(stream: number, row: number): number {
  return mix32(dropoutRowKey(stream, row));
}

/** `dx` of a row's word, in `[-maxShift, maxShift]`. */
export function shiftDx(word: number, maxShift: number): number {
  return ((word & 0xffff) % (2 * maxShift + 1)) - maxShift;
}

/** `dy` of a row's word, in `[-maxShift, maxShift]`. */
export function shiftDy(word: number, maxShift: number): number {
  return ((word >>> 16) % (2 * maxShift + 1)) - maxShift;
}

/**
 * Writes the image at `src[from ..]` shifted by (dx, dy) into `dst[to ..]` (`width * height`
 * values, zero fill). Positional parameters: it runs once per batch row and must not allocate.
 */
export function shiftDense(
  src: FloatArray,
  from: number,
  dst: FloatArray,
  to: number,
  width: number,
  height: number,
  dx: number,
  dy: number,
): void {
  for (let r = 0; r < height; r++) {
    const sr = r - dy;
    const out = to + r * width;
    if (sr < 0 || sr >= height) {
      for (let c = 0; c < width; c++) dst[out + c] = 0;
      continue;
    }
    const inRow = from + sr * width;
    for (let c = 0; c < width; c++) {
      const sc = c - dx;
      dst[out + c] = sc >= 0 && sc < width ? src[inRow + sc] : 0;
    }
  }
}

/**
 * Shifts one image held as nonzeros (`cols[colsAt + j]`, `values[valuesAt + j]` for j < count,
 * columns ascending) by (dx, dy) into `outCols`/`outValues` from position `k`; the nonzeros that
 * leave the image are dropped and the rest stay ascending. Returns the new end position.
 */
export function shiftSparse(
  cols: Int32Array,
  colsAt: number,
  values: FloatArray,
  valuesAt: number,
  count: number,
  outCols: Int32Array,
  outColsAt: number,
  outValues: FloatArray,
  outValuesAt: number,
  k: number,
  width: number,
  height: number,
  dx: number,
  dy: number,
): number {
  for (let j = 0; j < count; j++) {
    const col = cols[colsAt + j];
    const r = Math.floor(col / width) + dy;
    const c = col % width + dx;
    if (r < 0 || r >= height || c < 0 || c >= width) continue;
    outCols[outColsAt + k] = r * width + c;
    outValues[outValuesAt + k] = values[valuesAt + j];
    k++;
  }
  return k;
}

/**
 * Reference shifted gather: rows `indices[start .. start + rows)` of `x`, each image shifted by the
 * draw of (seedKey, step, batch row), as `[rows, width * height]`; the plain loops that
 * shaders/gather_shift.wgsl and the sessions' gathers are tested against (tests/shift_test.ts).
 *
 * @example
 * ```ts
 * import { gatherShiftRef, shift } from "./shift.ts";
 * import { gatherRef } from "./gather.ts";
 * import assert from "node:assert/strict";
 *
 * const x = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // one 3x3 image
 * const none = shift({ width: 3, height: 3, maxShift: 0 });
 * assert.deepEqual(gatherShiftRef(x, [0], 0, 1, none, 7, 3), gatherRef(x, [0], 0, 1, 9));
 * const moved = gatherShiftRef(x, [0, 0], 0, 2, shift({ width: 3, height: 3, maxShift: 1 }), 7, 3);
 * assert.ok(moved.every((v) => v === 0 || x.includes(v)));
 * ```
 *
 * @param x [n, width * height] the dataset.
 * @param indices Sample indices of the plan.
 * @param start First position of the batch in `indices`.
 * @param rows Rows of the batch.
 * @param augment The image size and the largest shift.
 * @param seedKey `dropoutSeedKey(seed)` of the session.
 * @param step Global optimizer step.
 * @returns [rows, width * height].
 */
export function gatherShiftRef(
  x: ArrayLike<number>,
  indices: ArrayLike<number>,
  start: number,
  rows: number,
  augment: ShiftAugment,
  seedKey: number,
  step: number,
): Float64Array {
  const { width, height, maxShift } = augment;
  const size = width * height;
  const out = new Float64Array(rows * size);
  const stream = shiftStream(seedKey, step);
  for (let b = 0; b < rows; b++) {
    const word = shiftWord(stream, b);
    const dx = shiftDx(word, maxShift);
    const dy = shiftDy(word, maxShift);
    const from = indices[start + b] * size;
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const [sr, sc] = [r - dy, c - dx];
        const inside = sr >= 0 && sr < height && sc >= 0 && sc < width;
        out[b * size + r * width + c] = inside ? x[from + sr * width + sc] : 0;
      }
    }
  }
  return out;
}

/**
 * The call of shaders/gather_shift.wgsl: `x` by `indices` into `batch`, every row shifted by its
 * draw; the global step is the plan's first step (`firstStep`) plus the step record's index, the
 * counter dropout's calls read too.
 *
 * @example
 * ```ts
 * import { gatherShiftCall, shift } from "./shift.ts";
 * import assert from "node:assert/strict";
 *
 * const call = gatherShiftCall(shift({ width: 28, height: 28, maxShift: 2 }), 12345);
 * assert.deepEqual(call.bindings, ["firstStep", "x", "indices", "batch"]);
 * assert.deepEqual(call.grid(32), [392, 1, 1]); // 32 * 784 elements, 64 per workgroup
 * ```
 *
 * @param augment The image size and the largest shift.
 * @param seedKey `dropoutSeedKey(seed)` of the session.
 * @returns The call.
 */
export function gatherShiftCall(augment: ShiftAugment, seedKey: number): KernelCall {
  const { width, height, maxShift } = augment;
  return {
    shader: "gather_shift",
    label: "gather_shift",
    constants: {
      WIDTH: width,
      HEIGHT: height,
      MAX_SHIFT: maxShift,
      SEED_KEY: seedKey,
      SHIFT_LAYER,
    },
    bindings: ["firstStep", "x", "indices", "batch"],
    grid: (rows) => flatGrid(rows * width * height),
    loopCharge: NO_LOOPS,
  };
}
