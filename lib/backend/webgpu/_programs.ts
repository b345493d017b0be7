/**
 * The WebGPU backend's programs as plain data: the {@linkcode KernelCall} list of one training step
 * and of one prediction chunk, built by pure functions from the parameter layout (through the op
 * files' call builders in lib/ops/) and shared by training, prediction, the benchmarks and the
 * tests. Nothing here touches a device; the session (./_session.ts) and prediction (./_predict.ts)
 * turn the roles into buffers and encode the calls.
 *
 * Activations are laid out `[batch, replicas, width]` in training (the gathered batch is shared by
 * all replicas: a replica stride of 0) and `[members, rows, width]` in prediction.
 *
 * @module
 */
import type { Head } from "../../model/spec.ts";
import type { ParamLayout } from "../../model/mod.ts";
import { ACTIVATIONS } from "../../ops/activation.ts";
import { combineMeanCall } from "../../ops/combine.ts";
import { denseForwardCall, denseGradCalls } from "../../ops/dense.ts";
import { dropoutCall, dropoutSeedKey } from "../../ops/dropout.ts";
import { gatherCall } from "../../ops/gather.ts";
import { type BufferRole, flatGrid, type KernelCall, NO_LOOPS } from "../../ops/kernel_call.ts";
import { lossCall, softmaxCall } from "../../ops/loss.ts";
import { optimizerResetCall } from "../../ops/optimizer_reset.ts";
import { gatherShiftCall, type ShiftAugment } from "../../ops/shift.ts";
import { type Optimizer, optimizerStateSize, ruleOf } from "../../optimizers/mod.ts";

/** The model facts a training program needs beside its layout. */
export interface TrainingModel {
  /** The output head. */
  readonly head: Head;
  /** The session's seed (dropout's and the shifts' draws); default 0. */
  readonly seed?: number;
  /**
   * Random shifts of the batch rows (the session's `augment`): the gather becomes
   * shaders/gather_shift.wgsl, which draws each row's shift from the dropout generator on the
   * device, so the data stays resident.
   */
  readonly augment?: ShiftAugment;
  /** Soft targets (distill): the temperature of shaders/softmax_xent_soft.wgsl; absent: labels. */
  readonly softTemperature?: number;
}

/** How the dense forward calls lay out their activations. */
interface ForwardLayout {
  /** Replicas (training) or members (prediction): the third grid dimension. */
  readonly depth: number;
  /** Floats between two rows and between two replicas of a layer of `width` (input if `first`). */
  strides(width: number, first: boolean): { ROW: number; REP: number };
  /** The buffer a dense layer `l` (0-based) reads. */
  input(l: number): BufferRole;
  /** Calls to insert after dense layer `l` (dropout in training). */
  after(l: number): ReadonlyArray<KernelCall>;
}

/** The dense forward calls of every layer: the one list builder of training and prediction. */
function forwardCalls(layout: ParamLayout, how: ForwardLayout): KernelCall[] {
  return layout.layers.flatMap((d, l) => {
    const input = how.strides(d.inDim, l === 0);
    const output = how.strides(d.outDim, false);
    const call = denseForwardCall(
      {
        layer: l + 1,
        inDim: d.inDim,
        outDim: d.outDim,
        weightOffset: d.weightOffset,
        biasOffset: d.biasOffset,
        paramStride: layout.paramCount,
        depth: how.depth,
      },
      { act: ACTIVATIONS[d.activation].code, input: how.input(l), output: { act: l + 1 } },
      { IN_ROW: input.ROW, IN_REP: input.REP, OUT_ROW: output.ROW, OUT_REP: output.REP },
    );
    return [call, ...how.after(l)];
  });
}

/**
 * The calls of one training step, in order: gather (shifted when augmenting), per layer the dense
 * forward (and dropout), the loss head, per layer from the last the weight and bias gradients and
 * the input gradient (and dropout's backward), then the optimizer's update.
 *
 * @example
 * ```ts
 * import { trainingCalls } from "./_programs.ts";
 * import { mlp, paramLayout, sgd } from "../../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const calls = trainingCalls(paramLayout(mlp({ layers: [2, 25, 3] })), sgd(), 1, { head: "softmax" });
 * assert.deepEqual(calls.map((c) => c.shader), [
 *   "gather", "dense_forward", "dense_forward", "softmax_xent", "dense_grad_weights", "bias_grad",
 *   "dense_grad_input", "dense_grad_weights", "bias_grad", "sgd",
 * ]);
 * ```
 *
 * @param layout The parameter layout.
 * @param optimizer The update rule.
 * @param R Replicas.
 * @param model The head, the seed of dropout's and the shifts' draws, and the augmentation.
 * @returns The calls of one step.
 */
export function trainingCalls(
  layout: ParamLayout,
  optimizer: Optimizer,
  R: number,
  model: TrainingModel,
): KernelCall[] {
  const L = layout.layers.length;
  const seedKey = dropoutSeedKey(model.seed ?? 0);
  const dropsAfter = (l: number) => l >= 0 && layout.layers[l].dropout > 0;
  const dropout = (l: number, mode: 0 | 1) =>
    dropoutCall({
      layer: l,
      width: layout.layers[l].outDim,
      replicas: R,
      rate: layout.layers[l].dropout,
      seedKey,
    }, mode);
  const layerIn = (l: number): BufferRole =>
    l === 0 ? "batch" : dropsAfter(l - 1) ? { dropped: l } : { act: l };
  const calls = [
    model.augment === undefined
      ? gatherCall(layout.inDim)
      : gatherShiftCall(model.augment, seedKey),
  ];
  calls.push(...forwardCalls(layout, {
    depth: R,
    strides: (width, first) => (first ? { ROW: width, REP: 0 } : { ROW: R * width, REP: width }),
    input: layerIn,
    after: (l) => (dropsAfter(l) ? [dropout(l, 0)] : []),
  }));
  calls.push(lossCall(model.head, {
    layers: L,
    outDim: layout.outDim,
    replicas: R,
    softTemperature: model.softTemperature,
  }));
  for (let l = L - 1; l >= 0; l--) {
    const d = layout.layers[l];
    calls.push(...denseGradCalls(
      {
        layer: l + 1,
        inDim: d.inDim,
        outDim: d.outDim,
        weightOffset: d.weightOffset,
        biasOffset: d.biasOffset,
        paramStride: layout.paramCount,
        depth: R,
      },
      {
        input: layerIn(l),
        prevAct: l > 0 ? ACTIVATIONS[layout.layers[l - 1].activation].code : 0,
      },
    ));
    if (l > 0 && dropsAfter(l - 1)) calls.push(dropout(l - 1, 1));
  }
  calls.push(...optimizerCalls(optimizer, layout.paramCount, R));
  return calls;
}

/**
 * The optimizer's calls of one step, from its rule's data (lib/optimizers/rule.ts):
 * `"update"` kernels bind params, grads, state and lrs, `"state"` kernels the state alone.
 *
 * @example
 * ```ts
 * import { optimizerCalls } from "./_programs.ts";
 * import { adam } from "../../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(optimizerCalls(adam(), 10, 2).map((c) => c.shader), ["adam_tick", "adam"]);
 * ```
 *
 * @param optimizer The update rule.
 * @param P Parameters per replica.
 * @param R Replicas.
 * @returns The calls.
 */
export function optimizerCalls(optimizer: Optimizer, P: number, R: number): KernelCall[] {
  const S = optimizerStateSize(optimizer, P);
  return ruleOf(optimizer).gpuKernels(optimizer, { P, S, R }).map((k): KernelCall => ({
    shader: k.shader,
    label: k.shader,
    constants: { ...k.constants },
    bindings: k.bindings === "update" ? ["params", "grads", "state", "lrs"] : ["state"],
    grid: k.grid === "params" ? () => flatGrid(R * P) : () => flatGrid(R),
    loopCharge: NO_LOOPS,
  }));
}

/**
 * The calls that reset the optimizer state at a warm restart (none for a stateless rule).
 *
 * @example
 * ```ts
 * import { resetCalls } from "./_programs.ts";
 * import { sgd } from "../../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resetCalls(sgd(), 10, 1).length, 0); // plain SGD keeps no state
 * assert.equal(resetCalls(sgd({ momentum: 0.9 }), 10, 1)[0].shader, "optimizer_reset");
 * ```
 *
 * @param optimizer The update rule.
 * @param P Parameters per replica.
 * @param R Replicas.
 * @returns The calls.
 */
export function resetCalls(optimizer: Optimizer, P: number, R: number): KernelCall[] {
  const total = R * optimizerStateSize(optimizer, P);
  if (total === 0) return [];
  return [optimizerResetCall(total)];
}

/** What a prediction program needs beside the layout. */
export interface PredictModel {
  /** The output head. */
  readonly head: Head;
  /** `"mean"` (weighted mean on the device) or `"none"` (every member's outputs). */
  readonly combine: "mean" | "none";
}

/**
 * The calls of one prediction chunk of `rows` rows for `M` stacked members: the dense forward of
 * every layer (dropout is the identity in prediction), the softmax for a softmax head, and the
 * weighted mean when combining.
 *
 * @example
 * ```ts
 * import { predictCalls } from "./_programs.ts";
 * import { mlp, paramLayout } from "../../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const layout = paramLayout(mlp({ layers: [2, 25, 3] }));
 * const calls = predictCalls(layout, 10, 128, { head: "softmax", combine: "mean" });
 * assert.deepEqual(calls.map((c) => c.shader), [
 *   "dense_forward", "dense_forward", "softmax", "combine_mean",
 * ]);
 * ```
 *
 * @param layout The parameter layout.
 * @param M Members.
 * @param rows Rows per chunk.
 * @param model The head and the combination.
 * @returns The calls of one chunk.
 */
export function predictCalls(
  layout: ParamLayout,
  M: number,
  rows: number,
  model: PredictModel,
): KernelCall[] {
  const L = layout.layers.length;
  const calls = forwardCalls(layout, {
    depth: M,
    strides: (width, first) => ({ ROW: width, REP: first ? 0 : rows * width }),
    input: (l) => (l === 0 ? "batch" : { act: l }),
    after: () => [],
  });
  const shape = { layers: L, outDim: layout.outDim, members: M, rows };
  if (model.head === "softmax") calls.push(softmaxCall(shape));
  if (model.combine === "mean") calls.push(combineMeanCall(shape));
  return calls;
}
