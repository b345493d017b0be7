/**
 * The fused training path of the WebGPU backend (shaders/train_fused.wgsl): for a network whose
 * parameters, gradient, optimizer state and one batch's activations fit in workgroup memory, ONE
 * workgroup per replica runs many whole optimizer steps per dispatch, instead of the ten or more
 * dispatches per step of the per-kernel path. On a software adapter each dispatch costs about
 * 40-60 µs (shared/PLATFORM.md), which is most of a small network's step.
 *
 * This module decides whether a network fits (the workgroup-memory layout and the shader's
 * override constants), counts the loop iterations of one invocation exactly as the shader runs
 * them, and splits a plan into dispatches that stay under {@linkcode FUSED_LOOP_BUDGET}: llvmpipe
 * silently stops a loop after 65,535 iterations per invocation, summed over all loops (measured: a
 * 2000-step single-dispatch trainer went wrong after about 400 steps; shared/PLATFORM.md).
 *
 * What it does not take (the backend uses the per-kernel path instead): more than
 * {@linkcode MAX_FUSED_LAYERS} layers, a layout larger than the device's
 * `maxComputeWorkgroupStorageSize`, and plans with a batch larger than the layout holds or with a
 * single step over the loop budget.
 *
 * @module
 */
import { denseWidths, type MlpSpec, paramLayout } from "../../model/mod.ts";
import { ACTIVATIONS } from "../../ops/activation.ts";
import { type Optimizer, optimizerStateSize, ruleOf } from "../../optimizers/mod.ts";

import {
  FUSED_LOOP_BUDGET as QUIRK_FUSED_LOOP_BUDGET,
  LLVMPIPE_LOOP_LIMIT,
  llvmpipeLoopCharge,
  MAX_PORTABLE_INVOCATIONS,
} from "./_quirks.ts";

/** Most layers (weight matrices) the fused kernel handles: its overrides name D0..D4. */
export const MAX_FUSED_LAYERS: number = 4;

/**
 * Loop iterations one invocation may run per dispatch (lib/backend/_quirks.ts says why:
 * below llvmpipe's 65,535 with a margin). Counted by {@linkcode stepLoopCount}.
 */
export const FUSED_LOOP_BUDGET: number = QUIRK_FUSED_LOOP_BUDGET;

/** Invocations per workgroup of the fused kernel: within every adapter's limit (SwiftShader: 256). */
export const FUSED_WORKGROUP: number = Math.min(64, MAX_PORTABLE_INVOCATIONS);

/** Largest batch a fused layout is sized for (the loop budget bounds it further). */
const MAX_BATCH_CAP = 512;

/** A network's fused layout: what the shader is specialised with and what the host counts. */
export interface FusedLayout {
  /** Override constants of shaders/train_fused.wgsl. */
  readonly constants: Readonly<Record<string, number>>;
  /** Largest batch the workgroup memory holds. */
  readonly batchCap: number;
  /** Workgroup memory the kernel declares, in bytes. */
  readonly bytes: number;
  /** Layer widths. */
  readonly dims: ReadonlyArray<number>;
  /** Parameters per replica. */
  readonly paramCount: number;
  /** Optimizer-state floats held in workgroup memory (Adam's step counter is kept apart). */
  readonly stateFloats: number;
  /** Invocations per workgroup. */
  readonly workgroup: number;
  /** The softmax head (else linear with mean squared error). */
  readonly softmax: boolean;
}

/** Why a network cannot take the fused path, or its layout. */
export type FusedFit =
  | { readonly ok: true; readonly layout: FusedLayout }
  | { readonly ok: false; readonly reason: string };

/**
 * The fused layout of a network on a device, or why there is none.
 *
 * @param spec The network.
 * @param optimizer The update rule.
 * @param limits The device's `maxComputeWorkgroupStorageSize` (bytes) and the replica count.
 * @returns The layout, or the reason the network does not fit.
 */
export function fusedLayout(
  spec: MlpSpec,
  optimizer: Optimizer,
  limits: { readonly workgroupBytes: number; readonly replicas: number },
): FusedFit {
  const layout = paramLayout(spec);
  const dims = denseWidths(spec);
  const L = dims.length - 1;
  if (L > MAX_FUSED_LAYERS) {
    return { ok: false, reason: `${L} layers (the fused kernel takes ${MAX_FUSED_LAYERS})` };
  }
  const hidden = layout.layers.slice(0, -1);
  if (hidden.some((d) => d.dropout > 0)) {
    return { ok: false, reason: "dropout (the fused kernel has no dropout)" };
  }
  const act = hidden.length === 0 ? "linear" : hidden[0].activation;
  if (hidden.some((d) => d.activation !== act)) {
    return { ok: false, reason: "activations that differ per layer (the fused kernel takes one)" };
  }
  const wOff: number[] = [...layout.layers.map((d) => d.weightOffset), layout.paramCount];
  const P = layout.paramCount;
  const fused = ruleOf(optimizer).fused;
  if (fused === undefined) {
    return {
      ok: false,
      reason: `the ${optimizer.kind} optimizer (the fused kernel lacks its rule)`,
    };
  }
  const stateFloats = fused.stateFloats(optimizer, P);
  let widths = 0;
  for (const d of dims) widths += d;
  let widestDelta = 0;
  for (let l = 1; l <= L; l++) widestDelta = Math.max(widestDelta, dims[l]);
  // [params P][grads P][state K][a(0..L): cap * widths][two deltas: cap * widest][loss, correct]
  const fixed = 2 * P + stateFloats;
  const perRow = widths + 2 * widestDelta + 2;
  const floats = Math.floor(limits.workgroupBytes / 4);
  const batchCap = Math.min(MAX_BATCH_CAP, Math.floor((floats - fixed) / perRow));
  if (batchCap < 1) {
    return {
      ok: false,
      reason: `${4 * (fixed + perRow)} bytes of workgroup memory for one row (the device allows ` +
        `${limits.workgroupBytes})`,
    };
  }
  const aOff: number[] = [];
  let at = fixed;
  for (let l = 0; l <= L; l++) {
    aOff.push(at);
    at += batchCap * dims[l];
  }
  const daOff = at;
  const dbOff = daOff + batchCap * widestDelta;
  const lossOff = dbOff + batchCap * widestDelta;
  const mem = lossOff + 2 * batchCap;
  const constants: Record<string, number> = {
    WG: FUSED_WORKGROUP,
    LAYERS: L,
    ACT: ACTIVATIONS[act].code,
    HEAD: spec.head === "softmax" ? 0 : 1,
    PARAM_COUNT: P,
    STATE_STRIDE: optimizerStateSize(optimizer, P),
    REPLICAS: limits.replicas,
    MEM: mem,
    GRAD_OFF: P,
    STATE_OFF: 2 * P,
    DA_OFF: daOff,
    DB_OFF: dbOff,
    LOSS_OFF: lossOff,
    BATCH_CAP: batchCap,
  };
  for (let l = 0; l <= L; l++) {
    constants[`D${l}`] = dims[l];
    constants[`A_OFF${l}`] = aOff[l];
    if (l > 0) constants[`W_OFF${l}`] = wOff[l];
  }
  constants.OPT = fused.code;
  Object.assign(constants, fused.constants(optimizer));
  return {
    ok: true,
    layout: {
      constants,
      batchCap,
      bytes: 4 * mem,
      dims: [...dims],
      paramCount: P,
      stateFloats,
      workgroup: FUSED_WORKGROUP,
      softmax: spec.head === "softmax",
    },
  };
}

/**
 * What llvmpipe's loop limiter charges for one run of a loop `for (k = t; k < n; k += WG)`: the
 * passes of its busiest lane (invocation 0: `ceil(n / WG)`) plus one; see `llvmpipeLoopCharge` in
 * lib/backend/_quirks.ts for how the limiter counts.
 */
function loop(n: number, wg: number): number {
  return llvmpipeLoopCharge(Math.ceil(n / wg));
}

/**
 * Loop iterations one invocation vector is charged per dispatch outside the steps: loading and
 * storing the parameters and the optimizer state, and leaving the step loop. Mirrors
 * shaders/train_fused.wgsl loop by loop (see {@linkcode stepLoopCount}).
 *
 * @param layout The fused layout.
 * @returns The count.
 */
export function fixedLoopCount(layout: FusedLayout): number {
  const { paramCount: P, stateFloats: K, workgroup: wg } = layout;
  return 2 * (loop(P, wg) + loop(K, wg)) + 1;
}

/**
 * Loop iterations one invocation vector is charged for one step of `batch` rows, counted the way
 * llvmpipe counts them (see `loop` above) and erring high: a reset's zeroing is always counted,
 * both inner loops of the gradient phase are paid by every outer iteration, and a loop behind a
 * uniform `if` that is false costs one. Mirrors shaders/train_fused.wgsl loop by loop; the 2000-
 * step test of tests/webgpu_fused_test.ts fails when this undercounts.
 *
 * @param layout The fused layout.
 * @param batch The step's rows.
 * @returns The count.
 */
export function stepLoopCount(layout: FusedLayout, batch: number): number {
  const { dims, stateFloats: K, workgroup: wg } = layout;
  const L = dims.length - 1;
  const out = dims[L];
  const wOff: number[] = [0];
  for (let l = 0; l < L; l++) wOff.push(wOff[l] + dims[l] * dims[l + 1] + dims[l + 1]);
  const c = (n: number) => Math.ceil(n / wg);
  // The step loop's own pass, the reset, and this step's gather (done before the step loop or in
  // the previous step's last phase).
  let count = 1 + loop(K, wg) + loop(batch * dims[0], wg);
  // Forward: the layer loop, and per layer a strided loop with an inner loop over the inputs.
  count += L + 1;
  for (let l = 0; l < L; l++) count += c(batch * dims[l + 1]) * (dims[l] + 2) + 1;
  // The loss head: per row three loops over the classes (softmax) or one (linear).
  count += layout.softmax ? c(batch) * (3 * out + 3) + 1 : c(batch) * (out + 2) + 1;
  // Backward: the layer loop, and per layer the gradient loop (both inner loops paid), the delta
  // loop (one when the layer is the first), the update of the layer above and the statistics sum.
  count += L + 1;
  for (let j = 0; j < L; j++) {
    const l = L - 1 - j;
    count += c((dims[l] + 1) * dims[l + 1]) * (2 * batch + 3) + 1;
    count += l > 0 ? c(batch * dims[l]) * (dims[l + 1] + 2) + 1 : 1;
    count += j > 0 ? loop(wOff[l + 2] - wOff[l + 1], wg) : 1;
    count += j === 0 ? batch + 1 : 1;
  }
  // The first layer's update.
  return count + loop(wOff[1], wg);
}

/** One dispatch of the fused kernel: plan steps `first .. first + steps - 1`. */
export interface FusedChunk {
  /** The first step of the plan it runs. */
  readonly first: number;
  /** How many steps it runs. */
  readonly steps: number;
}

/**
 * Splits a plan's steps into dispatches of at most `budget` loop iterations per invocation, or
 * returns `null` when some step does not fit in one dispatch or one batch not in the layout.
 *
 * @param layout The fused layout.
 * @param offsets [steps + 1] batch boundaries of the plan.
 * @param budget Loop iterations allowed per invocation and dispatch.
 * @returns The dispatches in order, or `null`.
 */
export function splitFusedSteps(
  layout: FusedLayout,
  offsets: Int32Array,
  budget: number = FUSED_LOOP_BUDGET,
): FusedChunk[] | null {
  const fixed = fixedLoopCount(layout);
  const chunks: FusedChunk[] = [];
  let first = 0;
  let used = fixed;
  const steps = offsets.length - 1;
  for (let s = 0; s < steps; s++) {
    const batch = offsets[s + 1] - offsets[s];
    if (batch > layout.batchCap) return null;
    const cost = stepLoopCount(layout, batch);
    if (fixed + cost > budget) return null;
    if (used + cost > budget) {
      chunks.push({ first, steps: s - first });
      first = s;
      used = fixed;
    }
    used += cost;
  }
  if (steps > first) chunks.push({ first, steps: steps - first });
  return chunks;
}

/** One kernel of the per-kernel path and the loop iterations llvmpipe charges it for one step. */
export interface KernelLoopCount {
  /** The shader, and the layer it serves where there is one per layer. */
  readonly kernel: string;
  /** Iterations charged to its busiest invocation vector. */
  readonly count: number;
}

/**
 * Loop iterations llvmpipe charges the busiest invocation vector of each kernel of the per-kernel
 * training path (lib/backend/webgpu.ts) for one step of `batch` rows, loop by loop as the shaders
 * in shaders/ run them (see `llvmpipeLoopCharge` in lib/backend/_quirks.ts): the 4x4 tiled
 * kernels loop over their inner dimension and then store their tile in two nested loops of four;
 * the loss heads stride over the rows 64 at a time, with three loops over the classes per row
 * (argmax, sum, gradient) for the softmax or one for the linear head, then one invocation sums the
 * 64 partial results; the bias gradient loops over the batch. gather and the optimizer kernels have
 * no loops. Errs high where a compiler unrolls a loop of four.
 *
 * @param spec The network's layer widths and head.
 * @param batch Rows of the step.
 * @returns One count per kernel dispatched in a step.
 */
export function perKernelLoopCounts(
  spec: MlpSpec,
  batch: number,
): KernelLoopCount[] {
  const charge = llvmpipeLoopCharge;
  const dims = denseWidths(spec);
  const L = dims.length - 1;
  const out = dims[L];
  const tileStore = charge(4) + 4 * charge(4); // for q < 4 { for t < 4 { store } }
  const counts: KernelLoopCount[] = [];
  for (let l = 0; l < L; l++) {
    counts.push({ kernel: `dense_forward ${l + 1}`, count: charge(dims[l]) + tileStore });
  }
  const rows = Math.ceil(batch / 64); // rows of the busiest invocation of the loss head
  const perRow = spec.head === "softmax"
    ? charge(out - 1) + 2 * charge(out) // argmax from class 1, sum, gradient
    : charge(out);
  counts.push({
    kernel: spec.head === "softmax" ? "softmax_xent" : "mse",
    count: rows * perRow + charge(rows) + charge(64),
  });
  for (let l = L - 1; l >= 0; l--) {
    counts.push({ kernel: `dense_grad_weights ${l + 1}`, count: charge(batch) + tileStore });
    counts.push({ kernel: `bias_grad ${l + 1}`, count: charge(batch) });
    if (l > 0) {
      counts.push({ kernel: `dense_grad_input ${l + 1}`, count: charge(dims[l + 1]) + tileStore });
    }
  }
  return counts;
}

/**
 * The largest batch whose every per-kernel step stays below `limit` loop iterations per
 * invocation ({@linkcode perKernelLoopCounts}), with the kernel that binds; a batch of 0 when a
 * kernel is over the limit whatever the batch (a layer too wide for llvmpipe).
 *
 * @param spec The network's layer widths and head.
 * @param limit Iterations allowed (default: llvmpipe's limit).
 * @returns The largest batch and the kernel that stops the next one.
 */
export function perKernelBatchLimit(
  spec: MlpSpec,
  limit: number = LLVMPIPE_LOOP_LIMIT,
): { readonly batch: number; readonly kernel: string } {
  // The counter stops loops when it reaches zero, so a kernel may be charged at most limit - 1.
  const worst = (batch: number): KernelLoopCount => {
    let top = { kernel: "", count: -1 };
    for (const c of perKernelLoopCounts(spec, batch)) if (c.count > top.count) top = c;
    return top;
  };
  if (worst(1).count >= limit) return { batch: 0, kernel: worst(1).kernel };
  // Counts never fall as the batch grows, and bias_grad alone is charged batch + 1.
  let lo = 1;
  let hi = limit;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (worst(mid).count < limit) lo = mid;
    else hi = mid;
  }
  return { batch: lo, kernel: worst(lo + 1).kernel };
}

/**
 * The fused kernel's per-step table: `(start, batch, reset, lr bits)` as four u32 per step.
 *
 * @param offsets [steps + 1] batch boundaries.
 * @param lrs [steps] learning rates.
 * @param resets [steps] reset flags, or undefined.
 * @returns [steps, 4] words.
 */
export function fusedStepTable(
  offsets: Int32Array,
  lrs: Float32Array,
  resets: Uint8Array | undefined,
): Uint32Array<ArrayBuffer> {
  const steps = lrs.length;
  const words = new Uint32Array(4 * steps);
  const asFloat = new Float32Array(words.buffer);
  for (let s = 0; s < steps; s++) {
    words[4 * s] = offsets[s];
    words[4 * s + 1] = offsets[s + 1] - offsets[s];
    words[4 * s + 2] = resets !== undefined && resets[s] !== 0 ? 1 : 0;
    asFloat[4 * s + 3] = lrs[s];
  }
  return words;
}
