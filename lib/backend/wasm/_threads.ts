/**
 * Threads for a WebAssembly session: Workers (`_worker.ts`) over the session's shared
 * `WebAssembly.Memory`, each driven through a control block (`_protocol.ts`) with `Atomics`. The
 * large kernels of a step (the sparse first layer forward and weight gradient, the dense forward
 * products, the optimizer updates) are split into as many parts as threads: the calling thread runs
 * part 0 while each Worker runs its own, on disjoint rows, columns or parameters, so the results are
 * exactly those of one thread. Everything else runs on the calling thread.
 *
 * Threads need `SharedArrayBuffer` (Deno; cross-origin-isolated pages); without it the backend runs
 * one thread and says so. The Workers load {@linkcode DEFAULT_WORKER_URL}, this folder's
 * `_worker.ts`, which Deno runs as is; a browser bundle has no `.ts` beside its chunks, so the
 * backend's `workerUrl` option names the bundled Worker instead (`dist/snapfold_worker.js`, built
 * by tools/build_browser.ts). The calling thread waits with `Atomics.wait` where the runtime lets it
 * block (Deno, Workers) and spins on `Atomics.load` where it does not (a page's main thread).
 *
 * @module
 */
import { SnapfoldError } from "../../errors.ts";
import type { CompiledKernels, WasmKernels } from "./_kernels.ts";
import {
  ARG_OFFSET,
  ARGC,
  CONTROL_BYTES,
  CONTROL_INTS,
  DONE,
  MAX_ARGS,
  OP,
  SEQ,
  SPIN,
  SPLIT_OPS,
  type SplitOp,
} from "./_protocol.ts";

/** Whether this runtime can share a `WebAssembly.Memory` with Workers. */
export function threadsAvailable(): boolean {
  // A page that is not cross-origin isolated may not share memory even where the constructor is
  // exposed (an origin trial, a flag); Deno has no such notion and leaves the global undefined.
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return typeof SharedArrayBuffer === "function" && typeof Worker === "function" &&
    typeof Atomics === "object" && isolated !== false;
}

/**
 * The script the Workers load by default: this folder's `_worker.ts`, right under Deno. A browser
 * bundle serves the bundled Worker (`dist/snapfold_worker.js`) and passes its URL instead.
 */
export const DEFAULT_WORKER_URL: string = new URL("./_worker.ts", import.meta.url).href;

/** How many threads a session runs, and the script its Workers load. */
export interface ThreadSetup {
  /** Threads, the calling one included (Workers only when more than 1). */
  readonly threads: number;
  /** The Worker script's URL (default {@linkcode DEFAULT_WORKER_URL}). */
  readonly workerUrl: string;
}

/** How long a part may take before the session gives up on its Worker. */
const WAIT_MS = 60_000;

interface Helper {
  readonly worker: Worker;
  readonly ctl: Int32Array;
  readonly args: Float64Array;
  seq: number;
}

/** Workers that run parts of kernels over one shared memory. */
export class ThreadPool {
  readonly #helpers: Helper[];
  readonly #canBlock: boolean;

  private constructor(helpers: Helper[]) {
    this.#helpers = helpers;
    let canBlock = true;
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    } catch {
      canBlock = false; // a page's main thread may not block
    }
    this.#canBlock = canBlock;
  }

  /**
   * Starts `workers` Workers over `memory`, each instantiating the session's own compiled
   * shared-memory modules: a `WebAssembly.Module` posted to a Worker shares its machine code, so
   * the Workers run the code the engine has already optimised rather than compiling their own and
   * running it unoptimised until it warms up (the first runs of a fresh Worker were 1.5-2x slower).
   *
   * @param workers How many (threads - 1).
   * @param compiled The compiled shared-memory kernels.
   * @param memory A shared memory.
   * @param workerUrl The Worker script (default {@linkcode DEFAULT_WORKER_URL}).
   * @returns The pool, once every Worker is ready.
   * @throws {SnapfoldError} when a Worker fails to load or start; none is left running.
   */
  static async start(
    workers: number,
    compiled: CompiledKernels,
    memory: WebAssembly.Memory,
    workerUrl: string = DEFAULT_WORKER_URL,
  ): Promise<ThreadPool> {
    const started: Worker[] = [];
    try {
      const helpers = await Promise.all(
        Array.from({ length: workers }, async (): Promise<Helper> => {
          const worker = new Worker(workerUrl, { type: "module" });
          started.push(worker);
          const control = new SharedArrayBuffer(CONTROL_BYTES);
          await new Promise<void>((resolve, reject) => {
            // A script that loads but is not the snapfold Worker never answers: give up on it.
            const timer = setTimeout(() => reject(silentWorker(workerUrl)), START_MS);
            worker.onmessage = () => {
              clearTimeout(timer);
              resolve();
            };
            worker.onerror = (event) => {
              event.preventDefault();
              clearTimeout(timer);
              reject(workerError(workerUrl, event));
            };
            worker.postMessage({ compiled, memory, control });
          });
          return {
            worker,
            ctl: new Int32Array(control, 0, CONTROL_INTS),
            args: new Float64Array(control, ARG_OFFSET, MAX_ARGS),
            seq: 0,
          };
        }),
      );
      return new ThreadPool(helpers);
    } catch (error) {
      for (const worker of started) worker.terminate();
      throw error;
    }
  }

  /** Threads, the calling one included. */
  get threads(): number {
    return this.#helpers.length + 1;
  }

  /**
   * Runs one kernel in parts: `parts[0]` on the calling thread with `self`, `parts[t]` on Worker
   * `t - 1`, and returns when all are done.
   */
  run(op: SplitOp, parts: ReadonlyArray<ReadonlyArray<number>>, self: () => void): void {
    const code = SPLIT_OPS.indexOf(op);
    for (let t = 1; t < parts.length; t++) {
      const h = this.#helpers[t - 1];
      const part = parts[t];
      for (let a = 0; a < part.length; a++) h.args[a] = part[a];
      h.ctl[OP] = code;
      h.ctl[ARGC] = part.length;
      h.seq++;
      Atomics.store(h.ctl, SEQ, h.seq);
      Atomics.notify(h.ctl, SEQ);
    }
    self();
    for (let t = 1; t < parts.length; t++) this.#await(this.#helpers[t - 1]);
  }

  #await(h: Helper): void {
    const started = Date.now();
    for (let spin = 0; spin < SPIN && Atomics.load(h.ctl, DONE) !== h.seq; spin++);
    for (;;) {
      const done = Atomics.load(h.ctl, DONE);
      if (done === h.seq) return;
      if (this.#canBlock) Atomics.wait(h.ctl, DONE, done, 100);
      if (Date.now() - started > WAIT_MS) {
        throw new SnapfoldError(
          `Cannot finish a step: a WebAssembly thread did not answer in ${WAIT_MS / 1000} s`,
        );
      }
    }
  }

  /** Stops every Worker. Idempotent. */
  dispose(): void {
    for (const h of this.#helpers) {
      h.ctl[OP] = -1;
      Atomics.store(h.ctl, SEQ, ++h.seq);
      Atomics.notify(h.ctl, SEQ);
      h.worker.terminate();
    }
    this.#helpers.length = 0;
  }
}

/** How long a new Worker may take to say it is ready. */
const START_MS = 30_000;

/** A Worker that loaded but never said it was ready (not the snapfold Worker's script?). */
function silentWorker(url: string): SnapfoldError {
  return new SnapfoldError(
    `Cannot start a WebAssembly thread: its script loaded but did not answer in ` +
      `${START_MS / 1000} s (${url}); is it the snapfold Worker (dist/snapfold_worker.js in a ` +
      "browser bundle)?",
  );
}

/**
 * Why a Worker did not start. A script that fails to load (a browser bundle without `workerUrl`
 * asks for `_worker.ts` beside its chunks) raises a plain `Event` in browsers, with no message.
 */
function workerError(url: string, event: Event): SnapfoldError {
  const said = (event as ErrorEvent).message;
  return new SnapfoldError(
    `Cannot start a WebAssembly thread: ${
      typeof said === "string" && said !== "" ? said : "its script did not load"
    } (${url}); in a browser bundle, pass the bundled Worker's URL (dist/snapfold_worker.js) as ` +
      "the WebAssembly backend's workerUrl option",
  );
}

/** `[start, end)` bounds of `parts` near-equal pieces of `[0, count)`, starts multiples of `align`. */
function bounds(count: number, parts: number, align: number): number[] {
  const out = [0];
  for (let t = 1; t < parts; t++) {
    const cut = Math.floor((count * t) / parts / align) * align;
    out.push(Math.max(out[t - 1], Math.min(count, cut)));
  }
  out.push(count);
  return out;
}

/** Below this many rows (or parameters per thread) a kernel runs on one thread. */
const MIN_ROWS = 16;
const MIN_PARAMS = 4096;

/** A kernel's arguments cut into one argument list per part, or `null` to run it whole. */
type Splitter = (args: number[], threads: number, memory: WebAssembly.Memory) => number[][] | null;

/** One argument list per `[bounds[t], bounds[t + 1])`, each edited from a copy of `args`. */
function cut(
  args: number[],
  bounds: number[],
  edit: (part: number[], start: number, count: number) => void,
): number[][] {
  return bounds.slice(0, -1).map((start, t) => {
    const part = args.slice();
    edit(part, start, bounds[t + 1] - start);
    return part;
  });
}

/**
 * How each split kernel is cut (argument positions as in `_kernels.ts`): rows for the forward
 * products, first-layer columns balanced by their nonzeros for the sparse weight gradient, ranges
 * of parameters (even starts, so the updates' pairs stay aligned) for the optimizers.
 */
const SPLITTERS: Readonly<
  Record<SplitOp, { readonly module: "dense" | "sparse" | "update"; readonly split: Splitter }>
> = {
  // [rowStart, cols, values, rows, w, bias, n, out, act]
  csr_forward: {
    module: "sparse",
    split: (a, T) =>
      a[3] < MIN_ROWS ? null : cut(a, bounds(a[3], T, 1), (p, r0, rows) => {
        p[0] += 4 * r0, p[3] = rows, p[7] += 4 * r0 * a[6];
      }),
  },
  // [colStart, colRows, colValues, width, delta, n, out]
  csc_grad: {
    module: "sparse",
    split: (a, T, memory) => {
      const width = a[3];
      const starts = new Int32Array(memory.buffer as ArrayBuffer, a[0], width + 1);
      const nnz = starts[width];
      if (nnz < MIN_ROWS * T) return null;
      const b = [0];
      let i = 0;
      for (let t = 1; t < T; t++) {
        while (i < width && starts[i] < (nnz * t) / T) i++;
        b.push(i);
      }
      b.push(width);
      return cut(a, b, (p, i0, columns) => {
        p[0] += 4 * i0, p[3] = columns, p[6] += 4 * i0 * a[5];
      });
    },
  },
  // [x, rows, k, w, bias, n, out, act]
  gemm: {
    module: "dense",
    split: (a, T) =>
      a[1] < MIN_ROWS * T ? null : cut(a, bounds(a[1], T, 4), (p, r0, rows) => {
        p[0] += 4 * r0 * a[2], p[1] = rows, p[6] += 4 * r0 * a[5];
      }),
  },
  // [params, grads, state, count, lr, momentum, weightDecay, mode]
  sgd: {
    module: "update",
    split: (a, T) =>
      a[3] < MIN_PARAMS * T ? null : cut(a, bounds(a[3], T, 2), (p, k0, count) => {
        p[0] += 4 * k0, p[1] += 4 * k0, p[2] += 4 * k0, p[3] = count;
      }),
  },
  // [params, grads, state, v, count, stepSize, correction2, beta1, beta2, epsilon, l2, shrink]
  adam: {
    module: "update",
    split: (a, T) =>
      a[4] < MIN_PARAMS * T ? null : cut(a, bounds(a[4], T, 2), (p, k0, count) => {
        p[0] += 4 * k0, p[1] += 4 * k0, p[2] += 4 * k0, p[3] += 4 * k0, p[4] = count;
      }),
  },
};

type Kernel = (...args: number[]) => number | void;

/**
 * Kernels whose large products run in parts across the pool; the others are `k`'s own. The parts
 * are disjoint, so the results are those of one thread, bit for bit.
 *
 * @param k The calling thread's kernels.
 * @param pool The Workers.
 * @param memory The shared memory (to read the column starts that balance the weight gradient).
 * @returns Kernels with the same contracts.
 */
export function splitKernels(
  k: WasmKernels,
  pool: ThreadPool,
  memory: WebAssembly.Memory,
): WasmKernels {
  const out = {
    dense: { ...k.dense },
    sparse: { ...k.sparse },
    loss: k.loss,
    update: { ...k.update },
    dropout: k.dropout, // elementwise, on the calling thread
  };
  for (const op of SPLIT_OPS) {
    const { module, split } = SPLITTERS[op];
    const own = (k[module] as unknown as Record<string, Kernel>)[op];
    (out[module] as unknown as Record<string, Kernel>)[op] = (...args: number[]) => {
      const parts = split(args, pool.threads, memory);
      if (parts === null) return own(...args);
      pool.run(op, parts, () => own(...parts[0]));
    };
  }
  return out;
}
