/**
 * How a threaded WebAssembly session cuts its large kernels (the sparse first layer's forward
 * product and weight gradient, the dense forward products, the optimizer updates) into one part per
 * thread: disjoint rows, columns or parameters, at the fractions the pool keeps for each kernel
 * (`ThreadPool.cuts`), so the results are exactly those of one thread wherever the cuts fall.
 *
 * @module
 */
import type { WasmKernels } from "./_kernels.ts";
import { SPLIT_OPS, type SplitOp } from "./_protocol.ts";
import type { ThreadPool } from "./_threads.ts";

/**
 * `[start, end)` bounds of the pieces of `[0, count)` cut at the fractions `cuts` (0, ..., 1),
 * starts multiples of `align`.
 */
function bounds(count: number, cuts: ReadonlyArray<number>, align: number): number[] {
  const out = [0];
  for (let t = 1; t < cuts.length - 1; t++) {
    const cut = Number.isFinite(cuts[t]) ? cuts[t] : t / (cuts.length - 1); // never NaN arguments
    const at = Math.floor((count * cut) / align) * align;
    out.push(Math.max(out[t - 1], Math.min(count, at)));
  }
  out.push(count);
  return out;
}

/**
 * Below this many rows, multiply-adds or parameters per thread a kernel runs whole on the calling
 * thread: handing a part to a Worker and waiting for it costs 2.5-7 µs here, as much as a product
 * of 30-130 thousand multiply-adds on one thread (measured: a split gemm of 32 x 2 x 25, the
 * tutorial's first layer, took 3-10 µs against 0.7 µs whole, and the tutorial ran 3.3x slower on
 * two threads before the products were sized by their work rather than their rows).
 */
const MIN_ROWS = 16;
const MIN_WORK = 65_536;
const MIN_PARAMS = 16_384;

/** A kernel cut into parts: one argument list each, and the fraction of the work in each. */
interface Parts {
  readonly parts: number[][];
  readonly shares: number[];
}

/**
 * A kernel's arguments cut at the fractions `cuts` (one part per thread), or `null` to run it
 * whole.
 */
type Splitter = (
  args: number[],
  cuts: ReadonlyArray<number>,
  memory: WebAssembly.Memory,
) => Parts | null;

/**
 * One argument list per `[bounds[t], bounds[t + 1])`, each edited from a copy of `args`; the
 * shares are the bounds' lengths, or `weight` of them, over the whole.
 */
function cut(
  args: number[],
  bounds: number[],
  edit: (part: number[], start: number, count: number) => void,
  weight: (start: number, end: number) => number = (start, end) => end - start,
): Parts {
  const whole = weight(0, bounds[bounds.length - 1]);
  const parts: number[][] = [];
  const shares: number[] = [];
  for (let t = 0; t + 1 < bounds.length; t++) {
    const part = args.slice();
    edit(part, bounds[t], bounds[t + 1] - bounds[t]);
    parts.push(part);
    shares.push(whole > 0 ? weight(bounds[t], bounds[t + 1]) / whole : 0);
  }
  return { parts, shares };
}

/**
 * How each split kernel is cut (argument positions as in `_kernels.ts`): rows for the forward
 * products, first-layer columns by their nonzeros for the sparse weight gradient, ranges of
 * parameters (even starts, so the updates' pairs stay aligned) for the optimizers.
 */
const SPLITTERS: Readonly<
  Record<SplitOp, { readonly module: "dense" | "sparse" | "update"; readonly split: Splitter }>
> = {
  // [rowStart, cols, values, rows, w, bias, n, out, act]
  csr_forward: {
    module: "sparse",
    split: (a, C, memory) => {
      const starts = new Int32Array(memory.buffer as ArrayBuffer, a[0], a[3] + 1);
      const work = (starts[a[3]] - starts[0]) * a[6];
      return a[3] < MIN_ROWS || work < MIN_WORK * (C.length - 1)
        ? null
        : cut(a, bounds(a[3], C, 1), (p, r0, rows) => {
          p[0] += 4 * r0, p[3] = rows, p[7] += 4 * r0 * a[6];
        });
    },
  },
  // [colStart, colRows, colValues, width, delta, n, out]
  csc_grad: {
    module: "sparse",
    split: (a, C, memory) => {
      const width = a[3];
      const starts = new Int32Array(memory.buffer as ArrayBuffer, a[0], width + 1);
      const nnz = starts[width];
      if (nnz < MIN_ROWS * (C.length - 1) || nnz * a[5] < MIN_WORK * (C.length - 1)) return null;
      const b = [0];
      let i = 0;
      for (let t = 1; t + 1 < C.length; t++) {
        while (i < width && starts[i] < nnz * C[t]) i++;
        b.push(i);
      }
      b.push(width);
      return cut(a, b, (p, i0, columns) => {
        p[0] += 4 * i0, p[3] = columns, p[6] += 4 * i0 * a[5];
      }, (i0, i1) => starts[i1] - starts[i0]);
    },
  },
  // [x, rows, k, w, bias, n, out, act]
  gemm: {
    module: "dense",
    split: (a, C) =>
      a[1] < MIN_ROWS * (C.length - 1) || a[1] * a[2] * a[5] < MIN_WORK * (C.length - 1)
        ? null
        : cut(a, bounds(a[1], C, 4), (p, r0, rows) => {
          p[0] += 4 * r0 * a[2], p[1] = rows, p[6] += 4 * r0 * a[5];
        }),
  },
  // [params, grads, state, count, lr, momentum, weightDecay, mode]
  sgd: {
    module: "update",
    split: (a, C) =>
      a[3] < MIN_PARAMS * (C.length - 1) ? null : cut(a, bounds(a[3], C, 2), (p, k0, count) => {
        p[0] += 4 * k0, p[1] += 4 * k0, p[2] += 4 * k0, p[3] = count;
      }),
  },
  // [params, grads, state, v, count, stepSize, correction2, beta1, beta2, epsilon, l2, shrink]
  adam: {
    module: "update",
    split: (a, C) =>
      a[4] < MIN_PARAMS * (C.length - 1) ? null : cut(a, bounds(a[4], C, 2), (p, k0, count) => {
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
  pool: Pick<ThreadPool, "cuts" | "run">,
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
      const cut = split(args, pool.cuts(op), memory);
      if (cut === null) return own(...args);
      const { parts, shares } = cut;
      pool.run(op, parts, () => own(...parts[0]), shares);
    };
  }
  return out;
}
