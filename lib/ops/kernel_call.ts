/**
 * One GPU dispatch as plain data: which kernel, its `override` constants, the buffers it binds (by
 * role, not by handle), its grid for a batch of rows, and what llvmpipe's loop limiter charges its
 * busiest invocation. The op files (lib/ops/*.ts) build them; lib/backend/webgpu/_programs.ts lists
 * them for training and prediction; only the WebGPU session turns roles into buffers and encodes.
 * Nothing here touches `GPUDevice`, so the lists are tested without a GPU (tests/programs_test.ts).
 *
 * @module
 */
import type { ShaderName } from "../backend/webgpu/_shaders.ts";
import { llvmpipeLoopCharge } from "../backend/webgpu/_quirks.ts";

/**
 * A buffer named by what it holds. The session owns one buffer per role:
 * `x` [n, inDim] and `y` (labels or targets) the training data; `indices` the plan's sample
 * indices; `batch` the gathered rows [batch, inDim] (in prediction: the input chunk); `params`
 * [replicas or members, P]; `grads` [replicas, P]; `state` the optimizer state [replicas, S];
 * `lrs` the plan's learning rates; `stats` [rows, replicas, 2] loss and correct counts;
 * `firstStep` the plan's first global step (dropout's counter); `weights` and `mean` the
 * normalised member weights and the weighted mean of prediction; `{ act: l }` the activations of
 * layer l (1..L), `{ delta: l }` their gradient, `{ dropped: l }` the activations after dropout.
 */
export type BufferRole =
  | "x"
  | "y"
  | "indices"
  | "batch"
  | "params"
  | "grads"
  | "state"
  | "lrs"
  | "stats"
  | "firstStep"
  | "weights"
  | "mean"
  | { readonly act: number }
  | { readonly delta: number }
  | { readonly dropped: number };

/** One dispatch of one kernel: the data an encoder needs, and nothing that needs a device. */
export interface KernelCall {
  /** The kernel: a basename in `shaders/`. */
  readonly shader: ShaderName;
  /** A label for the GPU objects and for loop-budget reports, e.g. `"dense_forward 1"`. */
  readonly label: string;
  /** Its `override` constants. */
  readonly constants: Readonly<Record<string, number>>;
  /** The buffers of its group-0 bindings, in binding order. */
  readonly bindings: ReadonlyArray<BufferRole>;
  /** Workgroups to dispatch for a step (or chunk) of `rows` rows. */
  grid(rows: number): readonly [number, number, number];
  /** Loop iterations llvmpipe's limiter charges its busiest invocation for `rows` rows. */
  loopCharge(rows: number): number;
}

/**
 * A stable text key of a role (for maps of buffers and tests).
 *
 * @example
 * ```ts
 * import { roleKey } from "./kernel_call.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(roleKey("params"), "params");
 * assert.equal(roleKey({ act: 2 }), "act 2");
 * ```
 *
 * @param role The role.
 * @returns `"params"`, `"act 2"`, `"delta 1"`, ...
 */
export function roleKey(role: BufferRole): string {
  if (typeof role === "string") return role;
  if ("act" in role) return `act ${role.act}`;
  if ("delta" in role) return `delta ${role.delta}`;
  return `dropped ${role.dropped}`;
}

/**
 * A grid of 64-invocation workgroups covering `count` elements, spread over x and y.
 *
 * @example
 * ```ts
 * import { flatGrid } from "./kernel_call.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(flatGrid(130), [3, 1, 1]);
 * ```
 *
 * @param count Elements.
 * @returns The grid.
 */
export function flatGrid(count: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / 64));
  const x = Math.min(groups, 65_535);
  return [x, Math.ceil(groups / x), 1];
}

/** The workgroup shape of a 4x4-tiled kernel. */
export interface TileShape {
  /** Invocations along the columns. */
  readonly WG_X: number;
  /** Invocations along the rows. */
  readonly WG_Y: number;
}

/**
 * The workgroup shape of a 4x4-tiled kernel: as wide as the column tiles need, 64 invocations.
 *
 * @example
 * ```ts
 * import { tileShape } from "./kernel_call.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(tileShape(25), { WG_X: 8, WG_Y: 8 });
 * ```
 *
 * @param cols Output columns.
 * @returns The shape.
 */
export function tileShape(cols: number): TileShape {
  const tiles = Math.ceil(cols / 4);
  let wgX = 1;
  while (wgX < tiles && wgX < 16) wgX *= 2;
  return { WG_X: wgX, WG_Y: 64 / wgX };
}

/**
 * The grid of a 4x4-tiled kernel over `cols` x `rows` outputs, `z` deep (replicas or members).
 *
 * @example
 * ```ts
 * import { tileGrid, tileShape } from "./kernel_call.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(tileGrid(25, 32, tileShape(25), 2), [1, 1, 2]);
 * ```
 *
 * @param cols Output columns.
 * @param rows Output rows.
 * @param shape The workgroup shape.
 * @param z Third grid dimension.
 * @returns The grid.
 */
export function tileGrid(
  cols: number,
  rows: number,
  shape: TileShape,
  z: number,
): [number, number, number] {
  return [
    Math.ceil(Math.ceil(cols / 4) / shape.WG_X),
    Math.max(1, Math.ceil(Math.ceil(rows / 4) / shape.WG_Y)),
    z,
  ];
}

/**
 * What llvmpipe charges a 4x4 tile's store, `for q < 4 { for t < 4 { store } }` (see
 * `llvmpipeLoopCharge` in lib/backend/webgpu/_quirks.ts).
 */
export const TILE_STORE_CHARGE: number = llvmpipeLoopCharge(4) + 4 * llvmpipeLoopCharge(4);

/** The loop charge of a kernel without loops. */
export const NO_LOOPS = (): number => 0;
