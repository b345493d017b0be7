/**
 * The control block shared by a threaded session and each of its Workers (`_threads.ts`,
 * `_worker.ts`): a `SharedArrayBuffer` holding four int32 (`SEQ`, the command counter the session
 * bumps; `DONE`, the last command the Worker finished; `OP`, the kernel's index in `WORKER_OPS`,
 * or -1 to stop; `ARGC`) and then the arguments as float64.
 *
 * @module
 */

/** The kernels a session splits across threads, by index. */
export const SPLIT_OPS = ["csr_forward", "csc_grad", "gemm", "sgd", "adam"] as const;

/** One of {@linkcode SPLIT_OPS}. */
export type SplitOp = (typeof SPLIT_OPS)[number];

/**
 * What a Worker runs, by index: the split kernels (their indices in {@linkcode SPLIT_OPS}), then
 * the kernels a session runs on a Worker whole, in the background (`ThreadPool.background`).
 */
export const WORKER_OPS = [...SPLIT_OPS, "gather_columns", "csr_rows"] as const;

/** One of {@linkcode WORKER_OPS}. */
export type WorkerOp = (typeof WORKER_OPS)[number];

/** Index of the command counter. */
export const SEQ = 0;
/** Index of the last finished command. */
export const DONE = 1;
/** Index of the kernel's number. */
export const OP = 2;
/** Index of the argument count. */
export const ARGC = 3;
/** Int32 slots before the arguments. */
export const CONTROL_INTS = 4;
/** Byte offset of the float64 arguments. */
export const ARG_OFFSET = 16;
/** Most arguments of a command. */
export const MAX_ARGS = 16;
/** Float64 index (after the arguments) where a Worker leaves how long its last part took, in ms. */
export const ELAPSED = MAX_ARGS;
/** Bytes of one control block. */
export const CONTROL_BYTES = ARG_OFFSET + 8 * (MAX_ARGS + 1);

/**
 * Polls of the control block before a thread sleeps in `Atomics.wait` (about 0.1-0.2 ms): the
 * parts of one step follow each other closely, and waking a sleeping thread takes longer.
 */
export const SPIN = 20_000;
