/**
 * The fused training path of the WebGPU backend (shaders/train_fused.wgsl): for a network whose
 * parameters, gradient, optimizer state and one batch's activations fit in workgroup memory, ONE
 * workgroup per replica runs many whole optimizer steps per dispatch, instead of the ten or more
 * dispatches per step of the per-kernel path. On a software adapter each dispatch costs about
 * 40-60 µs (shared/PLATFORM.md), which is most of a small network's step.
 *
 * This module decides whether a network fits (the workgroup-memory layout and the shader's
 * override constants) and, with the loop counts of ./_loop_budget.ts, splits a plan into dispatches that stay under {@linkcode FUSED_LOOP_BUDGET}: llvmpipe
 * silently stops a loop after 65,535 iterations per invocation, summed over all loops (measured: a
 * 2000-step single-dispatch trainer went wrong after about 400 steps; shared/PLATFORM.md).
 *
 * What it does not take (the backend uses the per-kernel path instead): more than
 * {@linkcode MAX_FUSED_LAYERS} layers, dropout, a layout larger than the device's
 * `maxComputeWorkgroupStorageSize`, and plans with a batch larger than the layout holds or with a
 * single step over the loop budget. Sessions with soft targets or with shifted batches (`augment`)
 * opt out in ./_session.ts (`startFused`): the fused kernel has neither the soft loss head nor the
 * shifted gather, which only shaders/gather_shift.wgsl draws.
 *
 * @module
 */
import { denseWidths, type MlpSpec, paramLayout } from "../../model/mod.ts";
import { ACTIVATIONS } from "../../ops/activation.ts";
import { type Optimizer, optimizerStateSize, ruleOf } from "../../optimizers/mod.ts";

import { fixedLoopCount, stepLoopCount } from "./_loop_budget.ts";
import {
  FUSED_LOOP_BUDGET as QUIRK_FUSED_LOOP_BUDGET,
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

/** Why the fused kernel cannot take a network or an optimizer at all (whatever the device). */
function fusedRefusal(spec: MlpSpec, optimizer: Optimizer): string | undefined {
  const layout = paramLayout(spec);
  const L = layout.layers.length;
  if (L > MAX_FUSED_LAYERS) return `${L} layers (the fused kernel takes ${MAX_FUSED_LAYERS})`;
  const hidden = layout.layers.slice(0, -1);
  if (hidden.some((d) => d.dropout > 0)) return "dropout (the fused kernel has no dropout)";
  const act = hidden.length === 0 ? "linear" : hidden[0].activation;
  if (hidden.some((d) => d.activation !== act)) {
    return "activations that differ per layer (the fused kernel takes one)";
  }
  if (ruleOf(optimizer).fused === undefined) {
    return `the ${optimizer.kind} optimizer (the fused kernel lacks its rule)`;
  }
  return undefined;
}

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
  const act = L === 1 ? "linear" : layout.layers[0].activation; // one for every hidden layer
  const fused = ruleOf(optimizer).fused;
  const refused = fusedRefusal(spec, optimizer);
  if (refused !== undefined || fused === undefined) {
    return { ok: false, reason: refused ?? "" };
  }
  const wOff: number[] = [...layout.layers.map((d) => d.weightOffset), layout.paramCount];
  const P = layout.paramCount;
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
