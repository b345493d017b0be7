/**
 * The WebAssembly backend: the whole training step (gather, dense or sparse first layer, the
 * activations, the loss of labels, of soft targets (distill) or of regression targets, the
 * backward products, bias gradients and the optimizer update) and the stacked ensemble prediction
 * run in WebAssembly SIMD kernels (`wasm/*.wat`, embedded by `deno task wasm` in `_wasm.ts`),
 * behind the same session contract as the CPU backend, which is its oracle; training draws the
 * CPU's very dropout masks (wasm/dropout.wat), and prediction ignores dropout, as on the CPU.
 * Relaxed SIMD (`f32x4.relaxed_madd`, fused multiply-adds) where the runtime validates it, plain
 * SIMD otherwise; both are tested. One thread by default; `threads: 2` or more splits each
 * session's large products across Workers over a shared memory (`_threads.ts`); a browser bundle
 * passes its bundled Worker script as `workerUrl`.
 *
 * Browser-safe: no `Deno.*`; modules are compiled and instantiated asynchronously.
 *
 * @module
 */
import { SnapfoldError } from "../../errors.ts";
import { orThrow, validation } from "../../validation.ts";
import { paramCount } from "../../model/mod.ts";
import { optimizerStateSize } from "../../optimizers/mod.ts";
import type { Backend, PredictOptions, SessionOptions, TrainingSession } from "../backend.ts";
import { SPARSE_MIN_ZEROS, zeroFraction } from "../../ops/_dense_sparse.ts";
import { dropoutSeedKey } from "../../ops/dropout.ts";
import { validatePredict, validateSession } from "../_validate.ts";
import { compileKernels, wasmSupport, type WasmVariant } from "./_kernels.ts";
import { wasmLayout } from "./_layout.ts";
import { lossHeadOf } from "./_loss.ts";
import { makePredictArena, type PredictArena, predictWasm } from "./_predict.ts";
import {
  createWasmSession,
  type SessionResources,
  SpareResources,
  type WasmSessionSetup,
} from "./_session.ts";
import { DEFAULT_WORKER_URL, threadsAvailable } from "./_threads.ts";
import { type WasmBackendOptions, wasmOptionIssues, workerUrlOf } from "./_options.ts";

export type { WasmBackendOptions } from "./_options.ts";

/**
 * Creates the WebAssembly SIMD backend. A disposed session's memory, module instances and Workers
 * are kept for the backend's next session (cleared first), so that a study training many runs
 * creates them once; `dispose()` the backend to free them.
 *
 * @example Train two replicas for a few steps, then predict with both
 * ```ts
 * import { createWasmBackend } from "./backend.ts";
 * import { initParams, mlp, sgd } from "../../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const backend = await createWasmBackend();
 * assert.equal(backend.kind, "wasm");
 * const spec = mlp({ layers: [2, 8, 2] });
 * const x = new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]); // [4, 2]
 * const y = new Int32Array([0, 1, 1, 0]);
 * const session = await backend.createSession({
 *   spec,
 *   optimizer: sgd({ momentum: 0.9 }),
 *   params: initParams(spec, { seed: 1, replicas: 2 }),
 *   replicas: 2,
 *   data: { x, y, n: 4 },
 * });
 * const steps = 50;
 * session.run({
 *   indices: new Int32Array(steps * 4).map((_, k) => k % 4),
 *   offsets: new Int32Array(steps + 1).map((_, s) => 4 * s),
 *   lrs: new Float32Array(steps).fill(0.1),
 * });
 * const stats = await session.readStats(); // [steps, replicas]
 * assert.ok(stats.loss[(steps - 1) * 2] < stats.loss[0]);
 * const probs = await backend.predict({ spec, params: await session.readParams(), members: 2, x, n: 4 });
 * assert.equal(probs.length, 8);
 * backend.dispose();
 * ```
 *
 * @param options Which SIMD variant, and how many threads a session runs.
 * @returns A backend whose sessions train in WebAssembly.
 * @throws {ConfigError} for an unknown `simd` choice, a bad thread count or `workerUrl`.
 * @throws {SnapfoldError} when the runtime lacks WebAssembly SIMD (or relaxed SIMD, when asked).
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  const { variant, threads, workerUrl, description } = resolveOptions(options);
  const compiled = await compileKernels(variant);
  const shared = threads > 1 ? await compileKernels(variant, true) : compiled;
  const sessions = new Set<TrainingSession>();
  let arena: Promise<PredictArena> | undefined; // made on the first prediction
  let disposed = false;
  // The memory, instances and Workers of the last disposed session, for the next one.
  const spare = new SpareResources();
  const giveBack = (session: TrainingSession, resources: SessionResources) => {
    sessions.delete(session);
    if (disposed) resources.pool?.dispose();
    else spare.keep(resources);
  };
  const assertLive = (what: string) => {
    if (disposed) {
      throw new SnapfoldError(
        `Cannot ${what}: the WebAssembly backend was disposed; create a new one with ` +
          "createWasmBackend()",
      );
    }
  };
  return {
    kind: "wasm",
    readCost: "free",
    adapter: description,
    softwareAdapter: false,
    readbacks: 0,
    async createSession(options: SessionOptions): Promise<TrainingSession> {
      assertLive("create a session");
      const session = await createWasmSession(
        shared,
        sessionSetup(options),
        giveBack,
        { threads, workerUrl },
        spare.take(),
      );
      if (disposed) {
        session.dispose(); // its Workers stop: the backend went away while it was made
        assertLive("create a session");
      }
      sessions.add(session);
      return session;
    },
    async predict(options: PredictOptions): Promise<Float32Array> {
      assertLive("predict");
      const x = orThrow("Cannot predict", validatePredict(options));
      const layout = wasmLayout(options.spec); // dropout is the identity in prediction
      const count = options.n * layout.inDim;
      const sparse = zeroFraction(x, count) >= SPARSE_MIN_ZEROS;
      arena ??= makePredictArena(compiled);
      return predictWasm(await arena, layout, options, x, sparse ? "rows" : "none");
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      arena = undefined;
      for (const session of [...sessions]) session.dispose();
      spare.dispose();
    },
  };
}

/**
 * What a session trains, from its checked options.
 *
 * @example
 * ```ts
 * import { sessionSetup } from "./backend.ts";
 * import { initParams, mlp, sgd } from "../../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 3, 2] });
 * const data = { x: new Float32Array([0, 1, 1, 0]), y: new Int32Array([0, 1]), n: 2 };
 * const params = initParams(spec, { seed: 1 });
 * const setup = sessionSetup({ spec, optimizer: sgd(), params, data });
 * assert.equal(setup.head.kind, "labels");
 * assert.equal(setup.layout.paramCount, 2 * 3 + 3 + 3 * 2 + 2);
 * ```
 *
 * @param options The session's options.
 * @returns Its setup.
 * @throws {SnapfoldError} naming every bad option.
 */
export function sessionSetup(options: SessionOptions): WasmSessionSetup {
  const data = orThrow("Cannot create a training session", validateSession(options));
  const { spec, optimizer, params, replicas = 1, optimizerState } = options;
  const seedKey = dropoutSeedKey(options.seed ?? 0);
  return {
    layout: wasmLayout(spec),
    head: lossHeadOf(spec, data),
    optimizer,
    stateSize: optimizerStateSize(optimizer, paramCount(spec)),
    params,
    state: optimizerState,
    data,
    replicas,
    sparseMinZeros: SPARSE_MIN_ZEROS,
    seedKey,
    ...(options.augment === undefined ? {} : { augment: { shift: options.augment, seedKey } }),
  };
}

/** Checks the options and settles what runs: the variant, the threads and how to say both. */
function resolveOptions(
  options: WasmBackendOptions,
): { variant: WasmVariant; threads: number; workerUrl: string; description: string } {
  orThrow("Cannot create the WebAssembly backend", validation(wasmOptionIssues(options), null));
  const choice = options?.simd ?? "auto";
  const wanted = options?.threads ?? 1;
  const workerUrl = workerUrlOf(options?.workerUrl, DEFAULT_WORKER_URL);
  const support = wasmSupport();
  if (!support.simd || (choice === "relaxed" && !support.relaxed)) {
    throw new SnapfoldError(
      `Cannot create the WebAssembly backend: this runtime lacks WebAssembly ${
        support.simd ? "relaxed SIMD" : "SIMD"
      }; use createBackend("cpu")`,
    );
  }
  const variant: WasmVariant = choice === "auto" ? (support.relaxed ? "relaxed" : "simd") : choice;
  const threads = wanted > 1 && threadsAvailable() ? wanted : 1;
  const threadNote = threads > 1
    ? `${threads} threads (Workers over a shared memory)`
    : wanted > 1
    ? "1 thread (no SharedArrayBuffer here)"
    : "1 thread";
  const simdName = variant === "relaxed" ? "relaxed SIMD" : "SIMD";
  const description = `WebAssembly ${simdName}, ${threadNote}`;
  return { variant, threads, workerUrl, description };
}
