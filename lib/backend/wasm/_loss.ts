/**
 * The loss head of a WebAssembly session's step (wasm/loss.wat), chosen once per session as the
 * CPU backend's `lossRows` chooses (lib/backend/cpu/_workspace.ts): the softmax cross-entropy
 * against labels, the soft-target cross-entropy `T^2 H(q, softmax(z / T))` against [rows, classes]
 * probabilities (distill; lib/ops/softmax_xent_soft.ts), or a linear head's mean squared error.
 *
 * @module
 */
import type { MlpSpec } from "../../model/mod.ts";
import type { TrainingData } from "../backend.ts";
import type { LossKernels } from "./_kernels.ts";

/** Which loss a session's steps take, and what its batch gathers: labels or [rows, outDim] rows. */
export type LossHead =
  | { readonly kind: "labels" }
  | { readonly kind: "soft"; readonly temperature: number }
  | { readonly kind: "mse" };

/**
 * The loss head of a model and its (validated) data.
 *
 * @param spec The network.
 * @param data The session's data (`targets: "soft"` only with a softmax head).
 * @returns The head.
 */
export function lossHeadOf(spec: MlpSpec, data: TrainingData): LossHead {
  if (spec.head !== "softmax") return { kind: "mse" };
  return data.targets === "soft"
    ? { kind: "soft", temperature: data.temperature ?? 1 }
    : { kind: "labels" };
}

/** Addresses of a batch's loss buffers. */
export interface LossBuffers {
  /** [rows, outDim] the last layer's pre-activation (logits or outputs). */
  readonly out: number;
  /** [rows] i32 labels (head "labels"). */
  readonly labels: number;
  /** [rows, outDim] soft targets or regression targets (heads "soft", "mse"). */
  readonly targets: number;
  /** [rows, outDim] receives the gradient of the mean loss with respect to `out`. */
  readonly delta: number;
  /** One f32: receives the rows classified correctly (labels), agreeing (soft), or 0 (mse). */
  readonly correct: number;
}

/**
 * The mean loss of the last forward pass; writes its gradient at `at.delta` and the correct count
 * at `at.correct`.
 *
 * @param k The loss kernels.
 * @param head Which loss.
 * @param at The batch's buffers.
 * @param rows Rows of the batch.
 * @param outDim Outputs per row.
 * @param f32 A view of the whole memory.
 * @returns The mean loss.
 */
export function stepLoss(
  k: LossKernels,
  head: LossHead,
  at: LossBuffers,
  rows: number,
  outDim: number,
  f32: Float32Array,
): number {
  switch (head.kind) {
    case "labels":
      return k.softmax_xent(at.out, at.labels, rows, outDim, at.delta, at.correct);
    case "soft": {
      const { out, targets, delta, correct } = at;
      return k.softmax_xent_soft(out, targets, rows, outDim, head.temperature, delta, correct);
    }
    case "mse":
      f32[at.correct >>> 2] = 0;
      return k.mse(at.out, at.targets, rows * outDim, at.delta);
    default:
      return unknownHead(head);
  }
}

/** Fails `deno check` when the switch over loss heads misses one. */
function unknownHead(head: never): never {
  throw new Error(`Cannot compute the loss: unknown head: got ${JSON.stringify(head)}`);
}
