/**
 * Saving and loading files in Deno: ensembles (safetensors), text such as SVG charts, and the
 * serving exports (an ONNX model, a Triton model repository).
 *
 * This entry point uses `Deno.*` and is kept out of the core module, which stays browser-safe.
 * Every save writes a temporary file in the target's directory and renames it over the target:
 * a rename within one directory is atomic on POSIX file systems (rename(2)), so a crash or a
 * failed save leaves either the old file or the new one, never half of one.
 *
 * @example
 * ```ts
 * import { initParams, mlp } from "@snapfold/snapfold";
 * import { loadEnsemble, saveEnsemble } from "@snapfold/snapfold/io";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 3] });
 * const snapshots = [{ index: 1, epoch: 0, step: 0, lr: 0.1, spec, params: initParams(spec, { seed: 1 }) }];
 * const dir = await Deno.makeTempDir();
 * await saveEnsemble(`${dir}/e.safetensors`, { snapshots });
 * assert.deepEqual((await loadEnsemble(`${dir}/e.safetensors`)).snapshots, snapshots);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { orThrow, SnapfoldError, validation } from "./lib/errors.ts";
import type { ExportEnsemble } from "./lib/export/_layout.ts";
import { onnxModel, type OnnxOptions, onnxSignature } from "./lib/export/_onnx_graph.ts";
import { encodeOnnxModel, WIRE_MODULE } from "./lib/export/_onnx_proto.ts";
import {
  TRITON_MODEL_NAME,
  tritonConfig,
  tritonOptionIssues,
  type TritonOptions,
} from "./lib/export/triton.ts";
import {
  type DecodedEnsemble,
  decodeEnsemble,
  encodeEnsemble,
  type EnsembleData,
} from "./lib/persistence.ts";

/**
 * Writes an ensemble file atomically (temporary file in the same directory, then rename).
 *
 * @example
 * ```ts
 * import { initParams, mlp } from "@snapfold/snapfold";
 * import { saveEnsemble } from "@snapfold/snapfold/io";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 3] });
 * const params = initParams(spec, { seed: 1 });
 * const dir = await Deno.makeTempDir();
 * await saveEnsemble(`${dir}/e.safetensors`, { snapshots: [{ index: 1, epoch: 0, step: 0, lr: 0, spec, params }] });
 * assert.ok((await Deno.stat(`${dir}/e.safetensors`)).size > 8);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param path Where to write (the directory must exist).
 * @param data The snapshots, schedule and metadata.
 * @throws {ConfigError} for bad data (nothing is written); {@linkcode SnapfoldError} naming the
 * missing `--allow-write` flag, or wrapping the file system's error.
 */
export async function saveEnsemble(path: string | URL, data: EnsembleData): Promise<void> {
  // Encode first: bad data throws before the file system is touched.
  await writeAtomic(path, encodeEnsemble(data), "save ensemble to");
}

/**
 * Reads and decodes an ensemble file; a truncated or corrupt file is rejected whole.
 *
 * @example
 * ```ts
 * import { ConfigError } from "@snapfold/snapfold";
 * import { loadEnsemble } from "@snapfold/snapfold/io";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/bad.safetensors`, "not a tensor file");
 * await assert.rejects(loadEnsemble(`${dir}/bad.safetensors`), ConfigError);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param path The file.
 * @returns The snapshots, schedule, metadata, writer version and warnings.
 * @throws {ConfigError} for a corrupt file; {@linkcode SnapfoldError} naming the missing
 * `--allow-read` flag, or wrapping the file system's error.
 */
export async function loadEnsemble(path: string | URL): Promise<DecodedEnsemble> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw fileError(e, path, "load ensemble from", "read");
  }
  return decodeEnsemble(bytes);
}

/**
 * Writes a text file (an SVG chart, a report) atomically, like {@linkcode saveEnsemble}.
 *
 * @example
 * ```ts
 * import { saveText } from "@snapfold/snapfold/io";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await saveText(`${dir}/chart.svg`, "<svg/>");
 * assert.equal(await Deno.readTextFile(`${dir}/chart.svg`), "<svg/>");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param path Where to write (the directory must exist).
 * @param text The text, written as UTF-8.
 * @throws {SnapfoldError} naming the missing `--allow-write` flag, or wrapping the file system's error.
 */
export async function saveText(path: string | URL, text: string): Promise<void> {
  await writeAtomic(path, new TextEncoder().encode(text), "save text to");
}

/**
 * Writes an ensemble as one ONNX model (see `toOnnx` in `@snapfold/snapfold/export`) atomically,
 * like {@linkcode saveEnsemble}.
 *
 * @example
 * ```ts
 * import { ensemble, initParams, mlp } from "@snapfold/snapfold";
 * import { saveOnnx } from "@snapfold/snapfold/io";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 3] });
 * const snapshots = [{ index: 1, epoch: 0, step: 9, lr: 0.1, spec, params: initParams(spec, { seed: 1 }) }];
 * const dir = await Deno.makeTempDir();
 * await saveOnnx(`${dir}/model.onnx`, ensemble(snapshots), { memberOutputs: true });
 * assert.ok((await Deno.stat(`${dir}/model.onnx`)).size > 4 * 59);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param path Where to write (the directory must exist).
 * @param ensemble The ensemble.
 * @param options The ONNX export's options.
 * @throws {ConfigError} for a bad ensemble or options (nothing is written); {@linkcode SnapfoldError}
 * naming the missing `--allow-write` flag, or wrapping the file system's error.
 */
export async function saveOnnx(
  path: string | URL,
  ensemble: ExportEnsemble,
  options: OnnxOptions = {},
): Promise<void> {
  await writeAtomic(path, await encodeOnnx(ensemble, options), "save ONNX model to");
}

/** Options of {@linkcode saveServingBundle}: the Triton options and the ONNX export's. */
export interface ServingBundleOptions extends TritonOptions {
  /** Options of the ONNX export (`memberOutputs` adds the second output to the config too). */
  readonly onnx?: OnnxOptions;
}

/** The files {@linkcode saveServingBundle} wrote. */
export interface ServingBundle {
  /** `<dir>/<name>/1/model.onnx`. */
  readonly model: string;
  /** `<dir>/<name>/config.pbtxt`. */
  readonly config: string;
}

/**
 * Writes a Triton Inference Server model repository for an ensemble: `<dir>/<name>/1/model.onnx`
 * (version 1 of the model) and `<dir>/<name>/config.pbtxt` (the ONNX Runtime backend, the input
 * and output names, types and dims, dynamic batching on). Serve it with
 * `tritonserver --model-repository=<dir>`.
 *
 * @example
 * ```ts
 * import { ensemble, initParams, mlp } from "@snapfold/snapfold";
 * import { saveServingBundle } from "@snapfold/snapfold/io";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 3] });
 * const snapshots = [{ index: 1, epoch: 0, step: 9, lr: 0.1, spec, params: initParams(spec, { seed: 1 }) }];
 * const dir = await Deno.makeTempDir();
 * const { config } = await saveServingBundle(dir, ensemble(snapshots), { name: "blobs" });
 * assert.match(await Deno.readTextFile(config), /name: "blobs"/);
 * assert.ok((await Deno.stat(`${dir}/blobs/1/model.onnx`)).isFile);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param dir The model repository (created when missing).
 * @param ensemble The ensemble.
 * @param options The model's name, the largest batch, the instances and the ONNX options.
 * @returns The paths written.
 * @throws {ConfigError} for a bad ensemble or options (nothing is written); {@linkcode SnapfoldError}
 * naming the missing `--allow-write` flag, or wrapping the file system's error.
 */
export async function saveServingBundle(
  dir: string | URL,
  ensemble: ExportEnsemble,
  options: ServingBundleOptions = {},
): Promise<ServingBundle> {
  orThrow("Cannot save serving bundle", validation(tritonOptionIssues(options), null));
  const { onnx = {}, ...triton } = options;
  const bytes = await encodeOnnx(ensemble, onnx); // bad data throws before the file system is touched
  const config = tritonConfig(onnxSignature(ensemble, onnx), triton);
  const root = join(toPath(dir), options.name ?? TRITON_MODEL_NAME);
  const paths = { model: join(root, "1", "model.onnx"), config: join(root, "config.pbtxt") };
  try {
    await Deno.mkdir(join(root, "1"), { recursive: true });
  } catch (e) {
    throw fileError(e, paths.model, "save serving bundle to", "write");
  }
  await writeAtomic(paths.model, bytes, "save ONNX model to");
  await writeAtomic(paths.config, new TextEncoder().encode(config), "save Triton config to");
  return paths;
}

// The protobuf encoder loads on first use, through a specifier Deno does not follow ahead of time:
// its package is downloaded only by programs that write ONNX files (the main example's first run
// fetches fp-ts alone; tests/first_run_test.ts). An npm module needs no --allow-read.
async function encodeOnnx(ensemble: ExportEnsemble, options: OnnxOptions): Promise<Uint8Array> {
  const model = onnxModel(ensemble, options); // validates before anything loads
  const wire: typeof import("@bufbuild/protobuf/wire") = await import(WIRE_MODULE);
  return encodeOnnxModel(model, new wire.BinaryWriter());
}

async function writeAtomic(path: string | URL, bytes: Uint8Array, what: string): Promise<void> {
  const target = toPath(path);
  const dir = dirname(target);
  let temp: string | undefined;
  try {
    temp = await Deno.makeTempFile({ dir, prefix: `.${basename(target)}.`, suffix: ".tmp" });
    const file = await Deno.open(temp, { write: true, truncate: true });
    try {
      let at = 0;
      while (at < bytes.length) at += await file.write(bytes.subarray(at));
      await file.syncData(); // the data reaches the disk before the rename makes it visible
    } finally {
      file.close();
    }
    // makeTempFile creates the file readable by its owner only; give the result the mode of the file
    // it replaces, or the usual 0644 of a new file.
    const mode = await Deno.stat(target).then((info) => info.mode ?? null, () => null);
    await Deno.chmod(temp, (mode ?? 0o644) & 0o777);
    await Deno.rename(temp, target);
    temp = undefined;
  } catch (e) {
    throw fileError(e, target, what, "write");
  } finally {
    if (temp !== undefined) await Deno.remove(temp).catch(() => {});
  }
}

function fileError(e: unknown, path: string | URL, what: string, access: "read" | "write"): Error {
  const target = toPath(path);
  const where = access === "write" ? dirname(target) : target;
  const flag = `--allow-${access}=${where}`;
  if (e instanceof Deno.errors.NotCapable) {
    return new SnapfoldError(
      `Cannot ${what} ${JSON.stringify(target)}: ${access} permission is missing: run with ${flag}`,
      { cause: e },
    );
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new SnapfoldError(
      `Cannot ${what} ${JSON.stringify(target)}: the operating system denied ${access} access: ` +
        `check the permissions of ${JSON.stringify(where)}`,
      { cause: e },
    );
  }
  const detail = e instanceof Error ? e.message : String(e);
  return new SnapfoldError(`Cannot ${what} ${JSON.stringify(target)}: ${detail}`, { cause: e });
}

function toPath(path: string | URL): string {
  return path instanceof URL ? fileURLToPath(path) : path;
}
