/**
 * llvmpipe's loop accounting, for both training paths side by side. llvmpipe silently stops every
 * loop of an invocation after {@linkcode LLVMPIPE_LOOP_LIMIT} iterations, summed over all loops
 * (./_quirks.ts says how it counts), so the backend counts what each kernel runs:
 *
 * - the per-kernel path: the `loopCharge` of each {@linkcode KernelCall} of a step
 *   ({@linkcode perKernelLoopCounts}), which bounds the batch ({@linkcode perKernelBatchLimit},
 *   {@linkcode batchLimit});
 * - the fused path: the loops of shaders/train_fused.wgsl per dispatch and per step
 *   ({@linkcode fixedLoopCount}, {@linkcode stepLoopCount}), which `splitFusedSteps` in ./_fused.ts
 *   uses to split a plan into dispatches within its budget.
 *
 * @module
 */
import type { ConfigIssue } from "../../errors.ts";
import { denseWidths, type MlpSpec, paramLayout } from "../../model/mod.ts";
import { type KernelCall, NO_LOOPS } from "../../ops/kernel_call.ts";
import { sgd } from "../../optimizers/mod.ts";
import type { FusedLayout } from "./_fused.ts";
import { trainingCalls } from "./_programs.ts";
import { LLVMPIPE_LOOP_LIMIT, llvmpipeLoopCharge } from "./_quirks.ts";

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

/** One kernel of the per-kernel path and the loop iterations llvmpipe charges it for one step. */
export interface KernelLoopCount {
  /** The shader, and the layer it serves where there is one per layer. */
  readonly kernel: string;
  /** Iterations charged to its busiest invocation vector. */
  readonly count: number;
}

/**
 * Loop iterations llvmpipe charges the busiest invocation vector of each kernel of the per-kernel
 * training path for one step of `batch` rows: the `loopCharge` of every call of
 * {@linkcode trainingCalls} that loops (gather, dropout and the optimizer kernels have no loops).
 * The charges are counted loop by loop as the shaders in shaders/ run them (see
 * `llvmpipeLoopCharge` in ./_quirks.ts) by the op files' call builders: the 4x4 tiled kernels loop
 * over their inner dimension and then store their tile in two nested loops of four; the loss heads
 * stride over the rows 64 at a time, with three loops over the classes per row (argmax, sum,
 * gradient) for the softmax or one for the linear head, then one invocation sums the 64 partial
 * results; the bias gradient loops over the batch. Errs high where a compiler unrolls a loop of
 * four.
 *
 * @param spec The network's layer widths and head.
 * @param batch Rows of the step.
 * @returns One count per looping kernel dispatched in a step.
 */
export function perKernelLoopCounts(spec: MlpSpec, batch: number): KernelLoopCount[] {
  return loopingCalls(spec).map((c) => ({ kernel: c.label, count: c.loopCharge(batch) }));
}

/** The calls of a training step that loop (the optimizer does not matter: its kernels do not). */
function loopingCalls(spec: MlpSpec): KernelCall[] {
  return trainingCalls(paramLayout(spec), sgd(), 1, { head: spec.head })
    .filter((c) => c.loopCharge !== NO_LOOPS);
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
  const calls = loopingCalls(spec);
  const worst = (batch: number): KernelLoopCount => {
    let top = { kernel: "", count: -1 };
    for (const c of calls) {
      const count = c.loopCharge(batch);
      if (count > top.count) top = { kernel: c.label, count };
    }
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
 * The WebGPU backend's own limit on batches, beside the shared checks of lib/backend/_validate.ts:
 * the per-kernel path's loss head and backward kernels loop over the batch, and every kernel's
 * loops are counted ({@linkcode perKernelLoopCounts}); the tightest one binds. Plans that the
 * fused kernel takes are split into dispatches within its own budget instead, but any plan may run
 * per kernel, so the limit holds for all. Only software adapters (llvmpipe) have the limit.
 *
 * @param spec The network.
 * @param software Whether the adapter is a software one.
 * @returns The check of a plan's largest batch.
 */
export function batchLimit(spec: MlpSpec, software: boolean): (maxRows: number) => ConfigIssue[] {
  const limit = software ? perKernelBatchLimit(spec) : undefined;
  return (maxRows: number): ConfigIssue[] => {
    if (limit === undefined || maxRows <= limit.batch) return [];
    if (limit.batch === 0) {
      return [{
        field: "spec.layers",
        message:
          `must be narrower on a software WebGPU adapter: the ${limit.kernel} kernel would ` +
          `loop more than ${LLVMPIPE_LOOP_LIMIT} times per invocation, where it stops silently; ` +
          'use backend "cpu"',
        got: denseWidths(spec),
      }];
    }
    return [{
      field: "offsets",
      message:
        `must give batches of at most ${limit.batch} samples on a software WebGPU adapter: ` +
        `a larger one makes the ${limit.kernel} kernel loop more than ${LLVMPIPE_LOOP_LIMIT} ` +
        'times per invocation, where its loops stop silently; use smaller batches or backend "cpu"',
      got: maxRows,
    }];
  };
}
