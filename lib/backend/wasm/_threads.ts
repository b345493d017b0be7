/**
 * Threads for a WebAssembly session: Workers (`_worker.ts`) over the session's shared
 * `WebAssembly.Memory`, each driven through a control block (`_protocol.ts`) with `Atomics`. The
 * large kernels of a step are cut into one part per thread (`_split.ts`): the calling thread runs
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
import type { CompiledKernels } from "./_kernels.ts";
import {
  ARG_OFFSET,
  ARGC,
  CONTROL_BYTES,
  CONTROL_INTS,
  DONE,
  ELAPSED,
  MAX_ARGS,
  OP,
  SEQ,
  SPIN,
  SPLIT_OPS,
  type SplitOp,
  WORKER_OPS,
  type WorkerOp,
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
  /** Whether its last command was not yet awaited. */
  pending: boolean;
}

/** Workers that run parts of kernels over one shared memory. */
export class ThreadPool {
  readonly #helpers: Helper[];
  readonly #canBlock: boolean;
  /** Per split kernel, where its parts are cut: fractions of the work, 0 to 1 (see `cuts`). */
  readonly #cuts: ReadonlyArray<number>[];

  private constructor(helpers: Helper[]) {
    this.#helpers = helpers;
    const T = helpers.length + 1;
    this.#cuts = SPLIT_OPS.map(() => Array.from({ length: T + 1 }, (_, t) => t / T));
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
            args: new Float64Array(control, ARG_OFFSET, MAX_ARGS + 1),
            seq: 0,
            pending: false,
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
   * Where `op`'s parts are cut, as fractions of its work (`cuts[t]` to `cuts[t + 1]` is thread
   * `t`'s; thread 0 is the calling one). They start equal in a new pool (and carry over to the
   * sessions that reuse it) and follow the threads' measured speeds:
   * a Worker reads data the calling thread has just written (slower by 10-25% here), and a core of
   * a shared machine can run slower for seconds; parts that end together waste no thread's time.
   * The parts stay disjoint, so the results are the same bits wherever the cuts fall.
   */
  cuts(op: SplitOp): ReadonlyArray<number> {
    return this.#cuts[SPLIT_OPS.indexOf(op)];
  }

  /**
   * Runs one kernel in parts: `parts[0]` on the calling thread with `self`, `parts[t]` on Worker
   * `t - 1`, and returns when all are done. `shares[t]`, the fraction of the work in part `t`
   * (cut at {@linkcode ThreadPool.cuts}), lets the pool move the cuts toward parts that take equal
   * times.
   */
  run(
    op: SplitOp,
    parts: ReadonlyArray<ReadonlyArray<number>>,
    self: () => void,
    shares: ReadonlyArray<number>,
  ): void {
    const code = SPLIT_OPS.indexOf(op);
    for (let t = 1; t < parts.length; t++) this.#post(this.#helpers[t - 1], code, parts[t]);
    const started = performance.now();
    self();
    const own = performance.now() - started;
    for (let t = 1; t < parts.length; t++) this.#await(this.#helpers[t - 1]);
    this.#balance(code, shares, own);
  }

  /**
   * Starts `op` whole on a Worker (the last, so that with more than two threads the others take
   * their parts at once) and returns at once: the calling thread goes on with work that neither
   * writes what `op` reads nor reads what it writes, and calls {@linkcode ThreadPool.settle} before
   * it touches them. The Worker's next part waits for it.
   */
  background(op: Exclude<WorkerOp, SplitOp>, args: ReadonlyArray<number>): void {
    this.#post(this.#helpers[this.#helpers.length - 1], WORKER_OPS.indexOf(op), args);
  }

  /** Returns when every command started by {@linkcode ThreadPool.background} is done. */
  settle(): void {
    for (const h of this.#helpers) if (h.pending) this.#await(h);
  }

  /** Hands Worker `h` the command `code` (in `WORKER_OPS`), after its last one is done. */
  #post(h: Helper, code: number, args: ReadonlyArray<number>): void {
    if (h.pending) this.#await(h); // it may not have read its arguments yet
    for (let a = 0; a < args.length; a++) h.args[a] = args[a];
    h.ctl[OP] = code;
    h.ctl[ARGC] = args.length;
    h.seq++;
    h.pending = true;
    Atomics.store(h.ctl, SEQ, h.seq);
    Atomics.notify(h.ctl, SEQ);
  }

  /** Moves `op`'s cuts after a run whose parts had `shares` of the work (see `rebalance`). */
  #balance(code: number, shares: ReadonlyArray<number>, own: number): void {
    const times = shares.map((_, t) => t === 0 ? own : this.#helpers[t - 1].args[ELAPSED]);
    this.#cuts[code] = rebalance(this.#cuts[code], shares, times);
  }

  #await(h: Helper): void {
    h.pending = false;
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

/**
 * Cuts moved a quarter of the way toward those that would have made a run's parts take equal
 * times. Each thread's speed is its part's share of the work over its time (at least 1 µs); a part
 * that had no work (its cut rounded to nothing) counts at the others' mean speed, so that it gets
 * work back. No share falls below 5% (`MIN_SHARE`).
 *
 * @example
 * ```ts
 * import { rebalance } from "./_threads.ts";
 * import assert from "node:assert/strict";
 *
 * // The Worker took twice as long for the same work: the calling thread's share grows.
 * const cuts = rebalance([0, 0.5, 1], [0.5, 0.5], [1, 2]);
 * assert.ok(Math.abs(cuts[1] - (0.5 + 0.25 * (2 / 3 - 0.5))) < 1e-12);
 * assert.equal(cuts[2], 1);
 * ```
 *
 * @param cuts The current cuts (0, ..., 1), one part per thread.
 * @param shares The fraction of the work each part had in the run.
 * @param times How long each part took, in ms.
 * @returns The new cuts.
 */
export function rebalance(
  cuts: ReadonlyArray<number>,
  shares: ReadonlyArray<number>,
  times: ReadonlyArray<number>,
): number[] {
  const T = cuts.length - 1;
  const measured = shares.map((share, t) => share > 0 ? share / Math.max(1e-3, times[t]) : NaN);
  const known = measured.filter((v) => v >= 0 && v < Infinity);
  if (known.length === 0) return cuts.slice();
  const mean = known.reduce((a, b) => a + b, 0) / known.length;
  const speeds = measured.map((v) => v >= 0 && v < Infinity ? v : mean);
  const total = speeds.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return cuts.slice();
  const next = speeds.map((speed, t) => {
    const now = cuts[t + 1] - cuts[t];
    return now + 0.25 * (speed / total - now);
  });
  const floored = withFloor(next, MIN_SHARE);
  const out = [0];
  for (let t = 0; t < T; t++) out.push(t === T - 1 ? 1 : out[t] + floored[t]);
  return out;
}

/** The least share of a split kernel's work a thread keeps. */
const MIN_SHARE = 0.05;

/**
 * `shares` (summing to 1) with none below `floor`: those below are raised to it, and what that takes
 * comes from the others in proportion to how far they are above it.
 */
function withFloor(shares: ReadonlyArray<number>, floor: number): number[] {
  const deficit = shares.reduce((a, v) => a + Math.max(0, floor - v), 0);
  const excess = shares.reduce((a, v) => a + Math.max(0, v - floor), 0);
  if (!(excess > deficit)) return shares.map(() => 1 / shares.length);
  return shares.map((v) => v <= floor ? floor : floor + (v - floor) * (1 - deficit / excess));
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
