/**
 * Loads `onnxruntime-node` (1.30, CPU) for the export tests and the ONNX benchmark, from the
 * directory `.ci/run` installs it into (`.cache/onnxruntime`, ignored by git):
 *
 * ```sh
 * (mkdir -p .cache/onnxruntime && cd .cache/onnxruntime &&
 *   ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0)
 * ```
 *
 * `ONNXRUNTIME_NODE_INSTALL=skip` keeps the CPU binaries inside the package (the default install
 * downloads CUDA ones). The package is a native Node addon, which Deno loads through
 * `createRequire` (shared/PLATFORM.md).
 *
 * @module
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Where `.ci/run` installs the package. */
export const ONNXRUNTIME_DIR: string = fileURLToPath(
  new URL("../.cache/onnxruntime/", import.meta.url),
);

/** The parts of the `onnxruntime-node` API the tests use. */
export interface OrtTensor {
  readonly data: Float32Array;
  readonly dims: ReadonlyArray<number>;
}

/** An inference session. */
export interface OrtSession {
  readonly inputNames: ReadonlyArray<string>;
  readonly outputNames: ReadonlyArray<string>;
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

/** The module. */
export interface Ort {
  readonly env: { readonly versions: Record<string, string> };
  readonly Tensor: new (type: "float32", data: Float32Array, dims: number[]) => unknown;
  readonly InferenceSession: {
    create(bytes: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
}

/**
 * The `onnxruntime-node` module, or `undefined` when it is not installed.
 *
 * @example
 * ```ts ignore
 * const ort = loadOnnxRuntime();
 * if (ort) console.log(ort.env.versions.node);
 * ```
 */
export function loadOnnxRuntime(): Ort | undefined {
  if (!existsSync(`${ONNXRUNTIME_DIR}node_modules/onnxruntime-node/package.json`)) return undefined;
  const require = createRequire(`${ONNXRUNTIME_DIR}package.json`);
  return require("onnxruntime-node") as Ort;
}
