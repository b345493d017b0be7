/**
 * The one small interface that every compute backend implements: `cpu` (plain TypeScript loops, the
 * oracle), `webgpu` (WGSL compute shaders) and `wasm` (WebAssembly SIMD kernels). The trainer and
 * prediction see only this interface; nothing outside `lib/backend/` touches a `GPUDevice`.
 *
 * Data and parameters are uploaded once; {@linkcode TrainingSession.run} enqueues many steps and reads
 * nothing back; reading parameters, optimizer state or per-step statistics is explicit, asynchronous
 * and meant to be rare (on WebGPU in Deno every readback costs about 11 ms).
 *
 * @module
 */
import type { MlpSpec } from "../model/mod.ts";
import type { Optimizer } from "../optimizers/mod.ts";
import type { ShiftAugment } from "../ops/shift.ts";

/** Which backend to use: `"auto"` picks WebGPU on a hardware adapter and the CPU otherwise. */
export type BackendChoice = "cpu" | "webgpu" | "wasm" | "auto";

/** Training data, uploaded once per session. */
export interface TrainingData {
  /** [n, inDim] row-major inputs. */
  readonly x: Float32Array;
  /**
   * Targets: for a softmax head, [n] class labels in `[0, classes)`; for a linear head, [n, outDim]
   * row-major regression targets.
   */
  readonly y: Int32Array | Float32Array;
  /** Number of samples (rows of `x`). */
  readonly n: number;
  /**
   * What `y` holds for a softmax head: `"labels"` (default, [n] class labels) or `"soft"`: [n,
   * classes] target probabilities (each row non-negative, summing to 1), trained with the
   * cross-entropy against them at {@linkcode TrainingData.temperature} (lib/ops/softmax_xent_soft.ts;
   * knowledge distillation, see `distill`). Every backend (WebGPU on its per-kernel path).
   */
  readonly targets?: "labels" | "soft";
  /**
   * Temperature `T` of soft targets (default 1): the loss is `T^2 * H(q, softmax(z / T))`. Only
   * with `targets: "soft"`.
   */
  readonly temperature?: number;
}

/** What a session trains. */
export interface SessionOptions {
  /** The network. */
  readonly spec: MlpSpec;
  /** The update rule and its hyper-parameters (the lr comes from each step of the plan). */
  readonly optimizer: Optimizer;
  /** [replicas, paramCount(spec)] initial parameters (see `layerViews` for the layout). */
  readonly params: Float32Array;
  /** The data every step's batch indexes into. */
  readonly data: TrainingData;
  /**
   * Number of independent models trained side by side on the same batches (default 1). Each replica
   * has its own parameters and optimizer state; it is how a true ensemble of K networks trains in one
   * pass.
   */
  readonly replicas?: number;
  /** [replicas, optimizerStateSize(optimizer, paramCount)] state to resume from (default zeros). */
  readonly optimizerState?: Float32Array;
  /**
   * Seed of the counter-based generator that draws dropout masks (default 0). Masks depend only on
   * this seed, the global step, the replica, the batch row and the unit, so every backend draws the
   * same masks.
   */
  readonly seed?: number;
  /**
   * Random shifts of every batch row (see `shift`), drawn from the same counter-based generator as
   * dropout, keyed on `seed`, the global step and the batch row (default none).
   */
  readonly augment?: ShiftAugment;
}

/**
 * A batch of consecutive optimizer steps to run. Step `s` of the plan uses the samples
 * `indices[offsets[s]] ... indices[offsets[s + 1] - 1]` and learning rate `lrs[s]`.
 */
export interface StepPlan {
  /** Sample indices of every step's batch, concatenated. */
  readonly indices: Int32Array;
  /** [steps + 1] boundaries of each batch in `indices`; `offsets[0] = 0`. */
  readonly offsets: Int32Array;
  /** [steps] learning rate of each step. */
  readonly lrs: Float32Array;
  /** [steps] 1 where the optimizer state is reset to zeros before the step (a restart), else 0. */
  readonly resets?: Uint8Array;
  /** Global index of the plan's first step in the run (default 0); counter-based draws key on it. */
  readonly firstStep?: number;
}

/** Per-step statistics of every step run since the previous {@linkcode TrainingSession.readStats}. */
export interface StepStats {
  /** [steps, replicas] mean loss of each step's batch, computed in the forward pass of that step. */
  readonly loss: Float32Array;
  /**
   * [steps, replicas] number of correctly classified samples in each step's batch (softmax head;
   * zeros for a linear head).
   */
  readonly correct: Float32Array;
}

/** A model (or `replicas` models) resident on a backend, ready to train. */
export interface TrainingSession {
  /** Parameters per replica. */
  readonly paramCount: number;
  /** Number of models trained side by side. */
  readonly replicas: number;
  /** Enqueues the steps of `plan`. Nothing is read back; errors surface at the next read. */
  run(plan: StepPlan): void;
  /** Reads and clears the statistics of the steps run since the last call. */
  readStats(): Promise<StepStats>;
  /** [replicas, paramCount] current parameters (a copy). */
  readParams(): Promise<Float32Array>;
  /** [replicas, stateSize] current optimizer state (a copy). */
  readOptimizerState(): Promise<Float32Array>;
  /** Frees every buffer of the session. Idempotent. */
  dispose(): void;
}

/** Options of {@linkcode Backend.predict}. */
export interface PredictOptions {
  /** The network shared by all members. */
  readonly spec: MlpSpec;
  /** [members, paramCount] stacked parameters. */
  readonly params: Float32Array;
  /** Number of stacked members (default 1). */
  readonly members?: number;
  /** [n, inDim] row-major inputs. */
  readonly x: Float32Array;
  /** Number of rows. */
  readonly n: number;
  /**
   * `"mean"` (default): [n, outDim] weighted mean over members of softmax probabilities (softmax head)
   * or outputs (linear head). `"none"`: [members, n, outDim] per member.
   */
  readonly combine?: "mean" | "none";
  /** [members] non-negative weights for `"mean"`; normalised to sum 1 (default equal). */
  readonly weights?: Float32Array;
}

/** A compute backend. */
export interface Backend {
  /** Which implementation this is. */
  readonly kind: "cpu" | "webgpu" | "wasm";
  /**
   * The adapter's description (WebGPU), the kernels' variant and threads (WebAssembly, e.g.
   * `"WebAssembly relaxed SIMD, 1 thread"`), or `null` on the CPU.
   */
  readonly adapter: string | null;
  /** True when the WebGPU adapter is a software fallback (llvmpipe, SwiftShader). */
  readonly softwareAdapter: boolean;
  /**
   * What a read of parameters or statistics costs: `"free"` (host memory, the CPU) or `"costly"` (an
   * awaited device round trip, about 11 ms on WebGPU in Deno). The trainer reads as often as it likes
   * from a free backend and only at snapshots, checkpoints and the end from a costly one.
   */
  readonly readCost: "free" | "costly";
  /** Number of awaited device-to-host reads so far (always 0 on the CPU). */
  readonly readbacks: number;
  /** Uploads data and parameters and returns a session that trains them. */
  createSession(options: SessionOptions): Promise<TrainingSession>;
  /** Runs the forward pass of one or many stacked members and combines them. */
  predict(options: PredictOptions): Promise<Float32Array>;
  /** Frees everything the backend holds (sessions, buffers, the device). Idempotent. */
  dispose(): void;
}
