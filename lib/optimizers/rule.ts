/**
 * The contract of one update rule: its validation, state size, reference update, optional fast CPU
 * twin, the GPU kernels of one step, and (optionally) what the fused WebGPU kernel needs. One file
 * per optimizer implements it; `lib/optimizers/mod.ts` lists them in `UPDATE_RULES`, typed so that
 * an optimizer kind without a rule fails `deno check`. Backends look the rule up once per session and
 * never branch on the optimizer's kind.
 *
 * @module
 */
import type { Validation } from "../validation.ts";

/**
 * One update of replica `replica`, in place: `params` is [replicas, P], `grads` [P] (P =
 * `grads.length`), `state` [replicas, stateSize(optimizer, P)], `lr` this step's rate.
 */
export type UpdateFn<O> = (
  optimizer: O,
  params: Float32Array,
  grads: Float32Array,
  state: Float32Array,
  lr: number,
  replica: number,
) => void;

/**
 * One WebGPU dispatch of a step's update, as data: the shader (a basename in `shaders/`), its
 * `override` constants, which buffers it binds (`"update"`: params, grads, state, lrs in that order;
 * `"state"`: the state alone) and its grid (`"params"`: one invocation per parameter of every
 * replica; `"replicas"`: one per replica).
 */
export interface UpdateKernel {
  /** The kernel's file basename in `shaders/`. */
  readonly shader: "sgd" | "adam_tick" | "adam";
  /** Its `override` constants. */
  readonly constants: Readonly<Record<string, number>>;
  /** `"update"`: params, grads, state, lrs; `"state"`: the optimizer state alone. */
  readonly bindings: "update" | "state";
  /** `"params"`: one invocation per parameter of every replica; `"replicas"`: one per replica. */
  readonly grid: "params" | "replicas";
}

/** The fused kernel's view of a rule (shaders/train_fused.wgsl's `OPT` code and its constants). */
export interface FusedUpdate<O> {
  /** `OPT` in shaders/train_fused.wgsl. */
  readonly code: number;
  /** Optimizer-state floats held in workgroup memory per replica. */
  stateFloats(optimizer: O, paramCount: number): number;
  /** The `override` constants of the rule. */
  constants(optimizer: O): Readonly<Record<string, number>>;
}

/** Everything snapfold knows about one optimizer kind. */
export interface UpdateRule<O extends { readonly kind: string }> {
  /** The kind it handles. */
  readonly kind: O["kind"];
  /** Re-validates a description of this kind (fields named without a prefix). */
  validate(optimizer: unknown): Validation<O>;
  /** Floats of optimizer state per replica. */
  stateSize(optimizer: O, paramCount: number): number;
  /** The reference update: float64 arithmetic, float32 stores. */
  readonly update: UpdateFn<O>;
  /** A faster CPU update with the same bits as `update` (tested), when the rule has one. */
  readonly fastUpdate?: UpdateFn<O>;
  /** The WebGPU dispatches of one step, in order. */
  gpuKernels(
    optimizer: O,
    sizes: { readonly P: number; readonly S: number; readonly R: number },
  ): ReadonlyArray<UpdateKernel>;
  /** Fused-kernel support; absent means the fused path refuses and the per-kernel path runs. */
  readonly fused?: FusedUpdate<O>;
}
