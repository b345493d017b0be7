/**
 * Loading the WebAssembly kernels of `wasm/` (embedded in `_wasm.ts`): choosing the variant
 * (relaxed SIMD where the runtime validates it, plain SIMD otherwise), compiling each module once,
 * and instantiating them over one shared `WebAssembly.Memory` with a bump allocator (a
 * {@linkcode WasmHeap}). Compilation and instantiation are asynchronous: browsers refuse to compile
 * modules over 4 KB synchronously on the main thread.
 *
 * @module
 */
import { SnapfoldError } from "../../errors.ts";
import { WASM_BINARIES, type WasmBinaryVariant, type WasmName } from "./_wasm.ts";

/** Which assembled variant runs: relaxed SIMD (`f32x4.relaxed_madd`) or plain SIMD. */
export type WasmVariant = "relaxed" | "simd";

/** The exports of wasm/dense.wat (byte addresses; see the file for each kernel's contract). */
export interface DenseKernels {
  gemm(
    x: number,
    rows: number,
    k: number,
    w: number,
    bias: number,
    n: number,
    out: number,
    act: number,
  ): void;
  gemm_tn(x: number, rows: number, m: number, delta: number, n: number, out: number): void;
  transpose(src: number, r: number, c: number, dst: number): void;
  backprop(
    delta: number,
    rows: number,
    n: number,
    w: number,
    k: number,
    a: number,
    act: number,
    prev: number,
    scratch: number,
  ): void;
  bias_grad(delta: number, rows: number, n: number, out: number): void;
  activate(p: number, count: number, act: number): void;
}

/** The exports of wasm/sparse.wat. */
export interface SparseKernels {
  csr_rows(
    x: number,
    width: number,
    idx: number,
    rows: number,
    rowStart: number,
    cols: number,
    values: number,
    scale: number,
  ): number;
  csr_gather(
    srcStart: number,
    srcCols: number,
    srcValues: number,
    idx: number,
    rows: number,
    rowStart: number,
    cols: number,
    values: number,
  ): number;
  csr_to_csc(
    rowStart: number,
    cols: number,
    values: number,
    rows: number,
    width: number,
    colStart: number,
    colRows: number,
    colValues: number,
    bytes: number,
  ): void;
  /** csr_gather, then csr_to_csc of the gathered rows (`bytes` as there). */
  gather_columns(
    srcStart: number,
    srcCols: number,
    srcValues: number,
    idx: number,
    rows: number,
    rowStart: number,
    cols: number,
    values: number,
    width: number,
    colStart: number,
    colRows: number,
    colValues: number,
    bytes: number,
  ): void;
  csr_forward(
    rowStart: number,
    cols: number,
    values: number,
    rows: number,
    w: number,
    bias: number,
    n: number,
    out: number,
    act: number,
  ): void;
  csc_grad(
    colStart: number,
    colRows: number,
    colValues: number,
    width: number,
    delta: number,
    n: number,
    out: number,
  ): void;
}

/** The exports of wasm/loss.wat. */
export interface LossKernels {
  softmax_xent(
    logits: number,
    labels: number,
    rows: number,
    classes: number,
    grad: number,
    correct: number,
  ): number;
  softmax_xent_soft(
    logits: number,
    targets: number,
    rows: number,
    classes: number,
    temperature: number,
    grad: number,
    correct: number,
  ): number;
  mse(out: number, targets: number, count: number, grad: number): number;
  combine(
    result: number,
    rows: number,
    width: number,
    softmax: number,
    out: number,
    weight: number,
    accumulate: number,
  ): void;
}

/** The exports of wasm/update.wat. */
export interface UpdateKernels {
  sgd(
    params: number,
    grads: number,
    state: number,
    count: number,
    lr: number,
    momentum: number,
    weightDecay: number,
    mode: number,
  ): void;
  adam(
    params: number,
    grads: number,
    state: number,
    v: number,
    count: number,
    stepSize: number,
    correction2: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    l2: number,
    shrink: number,
  ): void;
}

/** The exports of wasm/dropout.wat. */
export interface DropoutKernels {
  dropout(
    a: number,
    rows: number,
    width: number,
    seedKey: number,
    step: number,
    replica: number,
    layer: number,
    rate: number,
    out: number,
  ): void;
}

/** Every kernel module, instantiated over one memory. */
export interface WasmKernels {
  readonly dense: DenseKernels;
  readonly sparse: SparseKernels;
  readonly loss: LossKernels;
  readonly update: UpdateKernels;
  readonly dropout: DropoutKernels;
}

/** The compiled modules of one variant. */
export interface CompiledKernels {
  /** Which variant they are. */
  readonly variant: WasmVariant;
  /** Whether they import a shared memory (sessions split across Workers). */
  readonly shared: boolean;
  /** One compiled module per kernel file. */
  readonly modules: Readonly<Record<WasmName, WebAssembly.Module>>;
}

/** The bytes of one kernel module's variant. */
export function wasmBytes(
  name: WasmName,
  variant: WasmVariant,
  shared = false,
): Uint8Array<ArrayBuffer> {
  const key: WasmBinaryVariant = shared ? `${variant}Shared` : variant;
  const text = atob(WASM_BINARIES[name][key]);
  const bytes = new Uint8Array(text.length);
  for (let k = 0; k < text.length; k++) bytes[k] = text.charCodeAt(k);
  return bytes;
}

/**
 * Whether this runtime runs WebAssembly SIMD (`simd`) and relaxed SIMD (`relaxed`).
 *
 * @returns What `WebAssembly.validate` accepts of the embedded modules.
 */
export function wasmSupport(): { readonly simd: boolean; readonly relaxed: boolean } {
  const wasm = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
  if (wasm === undefined) return { simd: false, relaxed: false };
  return {
    simd: wasm.validate(wasmBytes("dense", "simd")),
    relaxed: wasm.validate(wasmBytes("dense", "relaxed")),
  };
}

/**
 * Compiles every kernel module of a variant.
 *
 * @param variant Which variant.
 * @param shared Whether they import a shared memory.
 * @returns The compiled modules.
 */
export async function compileKernels(
  variant: WasmVariant,
  shared = false,
): Promise<CompiledKernels> {
  const names = Object.keys(WASM_BINARIES) as WasmName[];
  const compiled = await Promise.all(
    names.map((n) => WebAssembly.compile(wasmBytes(n, variant, shared))),
  );
  const modules = Object.fromEntries(names.map((n, k) => [n, compiled[k]])) as Record<
    WasmName,
    WebAssembly.Module
  >;
  return { variant, shared, modules };
}

const MATH = { exp: Math.exp, log: Math.log, tanh: Math.tanh };

/**
 * Instantiates the compiled modules over `memory`.
 *
 * @param compiled The modules.
 * @param memory The memory they all import as `env.memory`.
 * @returns Their exports.
 */
export async function instantiateKernels(
  compiled: CompiledKernels,
  memory: WebAssembly.Memory,
): Promise<WasmKernels> {
  const imports = { env: { memory }, math: MATH };
  const make = async (name: WasmName) =>
    (await WebAssembly.instantiate(compiled.modules[name], imports)).exports as unknown;
  const [dense, sparse, loss, update, dropout] = await Promise.all(
    (["dense", "sparse", "loss", "update", "dropout"] as const).map(make),
  );
  return {
    dense: dense as DenseKernels,
    sparse: sparse as SparseKernels,
    loss: loss as LossKernels,
    update: update as UpdateKernels,
    dropout: dropout as DropoutKernels,
  };
}

const PAGE = 65536;

/** Bytes kept readable after the last buffer (see {@linkcode WasmHeap.alloc}). */
const SLACK = 64;

/** The largest memory, in pages (4 GiB, wasm32's limit; the shared variants declare it). */
const MAX_PAGES = 65536;

/**
 * One `WebAssembly.Memory` and a bump allocator over it. Addresses are bytes, 16-aligned; the
 * first 64 bytes are never handed out, so address 0 can mean "none" (no bias). Growing the memory
 * replaces its buffer: take views ({@linkcode WasmHeap.f32}) after the last allocation.
 */
export class WasmHeap {
  /** The memory the kernels import. */
  readonly memory: WebAssembly.Memory;
  #top = 64;

  constructor(bytes = PAGE, shared = false) {
    const initial = Math.min(MAX_PAGES, Math.max(1, Math.ceil(bytes / PAGE)));
    this.memory = shared
      ? new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true })
      : new WebAssembly.Memory({ initial });
  }

  /** The next free address. */
  get top(): number {
    return this.#top;
  }

  /**
   * Frees everything for a new session, which reuses the memory as it is (its pages are already
   * mapped: no page faults, no new memory). The contents are left: every kernel writes what it
   * later reads, and a session zeroes its optimizer state itself (tests/wasm_test.ts trains on a
   * memory filled with NaN to the bits of a fresh one).
   */
  clear(): void {
    this.#top = 64;
  }

  /** Frees everything allocated from `address` on (a mark taken from {@linkcode WasmHeap.top}). */
  release(address: number): void {
    this.#top = address;
  }

  /**
   * Allocates `count` 4-byte elements (f32 or i32) and returns the address. The memory always
   * extends {@linkcode SLACK} bytes past the last buffer: the dense kernels read a matrix's last
   * row four floats wide (wasm/dense.wat) and must not run off the memory.
   */
  alloc(count: number): number {
    const address = this.#top;
    this.#top = address + 16 * Math.ceil(count / 4); // not `& ~15`: sizes may pass 2^31 bytes
    const needed = Math.ceil((this.#top + SLACK) / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (needed > 0) {
      try {
        this.memory.grow(needed);
      } catch {
        throw new SnapfoldError(
          `Cannot allocate WebAssembly memory: a session or prediction needs more than the 4 GiB ` +
            `that wasm32 addresses (or the runtime refused to grow it): needed ` +
            `${
              Math.ceil((this.#top + SLACK) / 2 ** 20)
            } MiB; use fewer rows or createBackend("cpu")`,
        );
      }
    }
    return address;
  }

  /** A view of `count` floats at `address`. */
  f32(address: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer as ArrayBuffer, address, count);
  }

  /** A view of `count` 32-bit integers at `address`. */
  i32(address: number, count: number): Int32Array {
    return new Int32Array(this.memory.buffer as ArrayBuffer, address, count);
  }
}
