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
import type { MlpSpec } from "../model.ts";
import type { Optimizer } from "../optimizers.ts";

/** Most layers (weight matrices) the fused kernel handles: its overrides name D0..D4. */
export const MAX_FUSED_LAYERS: number = 4;

/**
 * Loop iterations one invocation may run per dispatch: below llvmpipe's 65,535 with a margin, as
 * the task of splitting steps across dispatches asks. Counted by {@linkcode stepLoopCount}.
 */
export const FUSED_LOOP_BUDGET: number = 50_000;

/** Invocations per workgroup: SwiftShader allows at most 256 (shared/PLATFORM.md). */
export const FUSED_WORKGROUP: number = 64;

/** Largest batch a fused layout is sized for (the loop budget bounds it further). */
const MAX_BATCH_CAP = 512;

/** Activation codes, as in the shaders' `ACT` override. */
const ACT_CODES: Readonly<Record<MlpSpec["activation"], number>> = {
  linear: 0,
  relu: 1,
  tanh: 2,
  sigmoid: 3,
};

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
  const dims = spec.layers;
  const L = dims.length - 1;
  if (L > MAX_FUSED_LAYERS) {
    return { ok: false, reason: `${L} layers (the fused kernel takes ${MAX_FUSED_LAYERS})` };
  }
  const wOff: number[] = [0];
  for (let l = 0; l < L; l++) wOff.push(wOff[l] + dims[l] * dims[l + 1] + dims[l + 1]);
  const P = wOff[L];
  const stateFloats = optimizer.kind === "adam" ? 2 * P : optimizer.momentum === 0 ? 0 : P;
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
    ACT: ACT_CODES[spec.activation],
    HEAD: spec.head === "softmax" ? 0 : 1,
    PARAM_COUNT: P,
    STATE_STRIDE: optimizer.kind === "adam" ? 2 * P + 1 : stateFloats,
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
  if (optimizer.kind === "sgd") {
    Object.assign(constants, {
      OPT: 0,
      MOMENTUM: optimizer.momentum,
      NESTEROV: optimizer.nesterov ? 1 : 0,
      PYTORCH: optimizer.convention === "pytorch" ? 1 : 0,
      WEIGHT_DECAY: optimizer.weightDecay,
    });
  } else {
    Object.assign(constants, {
      OPT: 1,
      BETA1: optimizer.beta1,
      BETA2: optimizer.beta2,
      // ln(0) = -Infinity is no valid override value; -1e30 makes beta^t exactly 0 just the same.
      LOG_BETA1: Math.max(Math.log(optimizer.beta1), -1e30),
      LOG_BETA2: Math.max(Math.log(optimizer.beta2), -1e30),
      EPSILON: optimizer.epsilon,
      WEIGHT_DECAY: optimizer.weightDecay,
      DECOUPLED: optimizer.decoupled ? 1 : 0,
    });
  }
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

/** Iterations invocation 0 runs in a loop `for (k = t; k < n; k += WG)`: the most of any. */
function strided(n: number, wg: number): number {
  return Math.ceil(n / wg);
}

/**
 * Loop iterations of one invocation per dispatch outside the steps: loading and storing the
 * parameters and the optimizer state. Mirrors shaders/train_fused.wgsl loop by loop.
 *
 * @param layout The fused layout.
 * @returns The count.
 */
export function fixedLoopCount(layout: FusedLayout): number {
  const { paramCount: P, stateFloats: K, workgroup: wg } = layout;
  return 2 * (strided(P, wg) + strided(K, wg));
}

/**
 * Loop iterations of one invocation (the busiest, invocation 0) for one step of `batch` rows,
 * every loop counted, nested ones per outer iteration. Mirrors shaders/train_fused.wgsl loop by
 * loop; a reset's zeroing is always counted.
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
  let count = 1 + strided(K, wg) + strided(batch * dims[0], wg); // step loop, reset, gather
  for (let l = 0; l < L; l++) count += 1 + strided(batch * dims[l + 1], wg) * (1 + dims[l]);
  count += strided(batch, wg) * (layout.softmax ? 3 * out : 1 + out);
  for (let j = 0; j < L; j++) {
    const l = L - 1 - j;
    count += 1 + strided((dims[l] + 1) * dims[l + 1], wg) * (1 + batch);
    if (l > 0) count += strided(batch * dims[l], wg) * (1 + dims[l + 1]);
    count += j > 0 ? strided(wOff[l + 2] - wOff[l + 1], wg) : batch;
  }
  count += strided(wOff[1], wg);
  return count;
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
