/**
 * The WebAssembly session's gather with random shifts (see lib/ops/shift.ts): the batch's images
 * shifted on the views of the memory, dense or as nonzeros, with the very draws of the CPU backend.
 *
 * @module
 */
import {
  type ShiftAugment,
  shiftDense,
  shiftDx,
  shiftDy,
  shiftSparse,
  shiftStream,
  shiftWord,
} from "../../ops/shift.ts";

/** Byte addresses of a CSR matrix in the memory. */
export interface CsrAddresses {
  readonly rowStart: number;
  readonly cols: number;
  readonly values: number;
}

/** Where the shifted batch comes from and goes: dense rows, or nonzeros by row. */
export type ShiftTarget =
  | { readonly kind: "dense"; readonly x: number; readonly into: number }
  | { readonly kind: "sparse"; readonly from: CsrAddresses; readonly into: CsrAddresses };

/**
 * Writes rows `indices[start .. start + rows)` of the resident data, shifted by the draws of
 * (seedKey, step, batch row), into the batch's input. Nonzeros stay ascending within each row.
 */
export function gatherShifted(
  f32: Float32Array,
  i32: Int32Array,
  augment: ShiftAugment,
  seedKey: number,
  step: number,
  indices: Int32Array,
  start: number,
  rows: number,
  target: ShiftTarget,
): void {
  const { width, height, maxShift } = augment;
  const inDim = width * height;
  const stream = shiftStream(seedKey, step);
  if (target.kind === "dense") {
    const x = target.x >>> 2;
    const to = target.into >>> 2;
    for (let b = 0; b < rows; b++) {
      const word = shiftWord(stream, b);
      const from = x + indices[start + b] * inDim;
      const dx = shiftDx(word, maxShift);
      shiftDense(f32, from, f32, to + b * inDim, width, height, dx, shiftDy(word, maxShift));
    }
    return;
  }
  const { from, into } = target;
  const srcStart = from.rowStart >>> 2;
  const dstStart = into.rowStart >>> 2;
  i32[dstStart] = 0;
  let k = 0;
  for (let b = 0; b < rows; b++) {
    const word = shiftWord(stream, b);
    const row = indices[start + b];
    const a = i32[srcStart + row];
    const count = i32[srcStart + row + 1] - a;
    k = shiftSparse(
      i32,
      (from.cols >>> 2) + a,
      f32,
      (from.values >>> 2) + a,
      count,
      i32,
      into.cols >>> 2,
      f32,
      into.values >>> 2,
      k,
      width,
      height,
      shiftDx(word, maxShift),
      shiftDy(word, maxShift),
    );
    i32[dstStart + b + 1] = k;
  }
}
