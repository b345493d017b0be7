/**
 * The Worker of a threaded WebAssembly session (see `_threads.ts`): it instantiates the shared-memory
 * kernels the session compiled (posted as `WebAssembly.Module`s, whose machine code is shared) over
 * the session's `WebAssembly.Memory`, says `"ready"`, then waits on its control block
 * for commands (a kernel's name by index and its arguments), runs each, and signals it done.
 *
 * @module
 */
import { type CompiledKernels, instantiateKernels } from "./_kernels.ts";
import {
  ARG_OFFSET,
  ARGC,
  CONTROL_INTS,
  DONE,
  ELAPSED,
  MAX_ARGS,
  OP,
  SEQ,
  SPIN,
  WORKER_OPS,
} from "./_protocol.ts";

/** What the session posts once. */
interface WorkerInit {
  readonly compiled: CompiledKernels;
  readonly memory: WebAssembly.Memory;
  readonly control: SharedArrayBuffer;
}

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<WorkerInit>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = async (event: MessageEvent<WorkerInit>) => {
  scope.onmessage = null;
  const { compiled, memory, control } = event.data;
  const k = await instantiateKernels(compiled, memory);
  const all = { ...k.dense, ...k.sparse, ...k.loss, ...k.update } as unknown as Record<
    string,
    (...args: number[]) => number
  >;
  const ops = WORKER_OPS.map((name) => all[name]);
  const ctl = new Int32Array(control, 0, CONTROL_INTS);
  const args = new Float64Array(control, ARG_OFFSET, MAX_ARGS + 1);
  scope.postMessage("ready");
  let seen = 0;
  for (;;) {
    // The next command of a step comes within microseconds: spin a while before sleeping, since a
    // futex wake-up costs more than the smaller kernels themselves.
    for (let spin = 0; spin < SPIN && Atomics.load(ctl, SEQ) === seen; spin++);
    Atomics.wait(ctl, SEQ, seen);
    const seq = Atomics.load(ctl, SEQ);
    if (seq === seen) continue;
    seen = seq;
    const op = ctl[OP];
    if (op < 0) return; // stop
    const started = performance.now();
    ops[op](...args.subarray(0, ctl[ARGC]));
    args[ELAPSED] = performance.now() - started; // published by the store of DONE
    Atomics.store(ctl, DONE, seq);
    Atomics.notify(ctl, DONE);
  }
};
