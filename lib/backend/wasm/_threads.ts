/**
 * Threads for a WebAssembly session: Workers (`_worker.ts`) over the session's shared
 * `WebAssembly.Memory`, each driven through a control block (`_protocol.ts`) with `Atomics`. The
 * large kernels of a step (the sparse first layer forward and weight gradient, the dense forward
 * products, the optimizer updates) are split into as many parts as threads: the calling thread runs
 * part 0 while each Worker runs its own, on disjoint rows, columns or parameters, so the results are
 * exactly those of one thread. Everything else runs on the calling thread.
 *
 * Threads need `SharedArrayBuffer` (Deno; cross-origin-isolated pages); without it the backend runs
 * one thread and says so. The calling thread waits with `Atomics.wait` where the runtime lets it
 * block (Deno, Workers) and spins on `Atomics.load` where it does not (a page's main thread).
 *
 * @module
 */
import { SnapfoldError } from "../../errors.ts";
import type { WasmKernels, WasmVariant } from "./_kernels.ts";
import {
  ARG_OFFSET,
  ARGC,
  CONTROL_BYTES,
  CONTROL_INTS,
  DONE,
  MAX_ARGS,
  OP,
  SEQ,
  SPLIT_OPS,
  type SplitOp,
} from "./_protocol.ts";

/** Whether this runtime can share a `WebAssembly.Memory` with Workers. */
export function threadsAvailable(): boolean {
  return typeof SharedArrayBuffer === "function" && typeof Worker === "function" &&
    typeof Atomics === "object";
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
   * Starts `workers` Workers over `memory`, each with the variant's shared-memory kernels.
   *
   * @param workers How many (threads - 1).
   * @param variant The kernels' variant.
   * @param memory A shared memory.
   * @returns The pool, once every Worker is ready.
   */
  static async start(
    workers: number,
    variant: WasmVariant,
    memory: WebAssembly.Memory,
  ): Promise<ThreadPool> {
    const helpers = await Promise.all(
      Array.from({ length: workers }, async (): Promise<Helper> => {
        const worker = new Worker(new URL("./_worker.ts", import.meta.url).href, {
          type: "module",
        });
        const control = new SharedArrayBuffer(CONTROL_BYTES);
        await new Promise<void>((resolve, reject) => {
          worker.onmessage = () => resolve();
          worker.onerror = (event) => {
            event.preventDefault();
            reject(new SnapfoldError(`Cannot start a WebAssembly thread: ${event.message}`));
          };
          worker.postMessage({ variant, memory, control });
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

/**
 * Kernels whose large products run in parts across the pool; the others are `k`'s own.
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
  const T = pool.threads;
  const sparse = {
    ...k.sparse,
    csr_forward(
      rs: number,
      cols: number,
      vals: number,
      rows: number,
      w: number,
      bias: number,
      n: number,
      out: number,
      act: number,
    ) {
      if (rows < MIN_ROWS) return k.sparse.csr_forward(rs, cols, vals, rows, w, bias, n, out, act);
      const b = bounds(rows, T, 1);
      const parts = b.slice(0, T).map((
        r0,
        t,
      ) => [rs + 4 * r0, cols, vals, b[t + 1] - r0, w, bias, n, out + 4 * r0 * n, act]);
      const [p] = parts;
      pool.run(
        "csr_forward",
        parts,
        () => k.sparse.csr_forward(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]),
      );
    },
    csc_grad(
      cs: number,
      colRows: number,
      colVals: number,
      width: number,
      delta: number,
      n: number,
      out: number,
    ) {
      // Columns split where the nonzeros split evenly (MNIST's border columns have none).
      const starts = new Int32Array(memory.buffer as ArrayBuffer, cs, width + 1);
      const nnz = starts[width];
      if (nnz < MIN_ROWS * T) return k.sparse.csc_grad(cs, colRows, colVals, width, delta, n, out);
      const b = [0];
      let i = 0;
      for (let t = 1; t < T; t++) {
        const target = (nnz * t) / T;
        while (i < width && starts[i] < target) i++;
        b.push(i);
      }
      b.push(width);
      const parts = b.slice(0, T).map((
        i0,
        t,
      ) => [cs + 4 * i0, colRows, colVals, b[t + 1] - i0, delta, n, out + 4 * i0 * n]);
      const [p] = parts;
      pool.run(
        "csc_grad",
        parts,
        () => k.sparse.csc_grad(p[0], p[1], p[2], p[3], p[4], p[5], p[6]),
      );
    },
  };
  const dense = {
    ...k.dense,
    gemm(
      x: number,
      rows: number,
      kk: number,
      w: number,
      bias: number,
      n: number,
      out: number,
      act: number,
    ) {
      if (rows < MIN_ROWS * T) return k.dense.gemm(x, rows, kk, w, bias, n, out, act);
      const b = bounds(rows, T, 4);
      const parts = b.slice(0, T).map((
        r0,
        t,
      ) => [x + 4 * r0 * kk, b[t + 1] - r0, kk, w, bias, n, out + 4 * r0 * n, act]);
      const [p] = parts;
      pool.run("gemm", parts, () => k.dense.gemm(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]));
    },
  };
  const update = {
    ...k.update,
    sgd(
      params: number,
      grads: number,
      state: number,
      count: number,
      lr: number,
      m: number,
      wd: number,
      mode: number,
    ) {
      if (count < MIN_PARAMS * T) return k.update.sgd(params, grads, state, count, lr, m, wd, mode);
      const b = bounds(count, T, 2);
      const parts = b.slice(0, T).map((
        k0,
        t,
      ) => [params + 4 * k0, grads + 4 * k0, state + 4 * k0, b[t + 1] - k0, lr, m, wd, mode]);
      const [p] = parts;
      pool.run("sgd", parts, () => k.update.sgd(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]));
    },
    adam(
      params: number,
      grads: number,
      state: number,
      v: number,
      count: number,
      stepSize: number,
      c2: number,
      b1: number,
      b2: number,
      eps: number,
      l2: number,
      shrink: number,
    ) {
      if (count < MIN_PARAMS * T) {
        return k.update.adam(params, grads, state, v, count, stepSize, c2, b1, b2, eps, l2, shrink);
      }
      const b = bounds(count, T, 2);
      const parts = b.slice(0, T).map((
        k0,
        t,
      ) => [
        params + 4 * k0,
        grads + 4 * k0,
        state + 4 * k0,
        v + 4 * k0,
        b[t + 1] - k0,
        stepSize,
        c2,
        b1,
        b2,
        eps,
        l2,
        shrink,
      ]);
      const [p] = parts;
      pool.run(
        "adam",
        parts,
        () =>
          k.update.adam(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]),
      );
    },
  };
  return { dense, sparse, loss: k.loss, update };
}
