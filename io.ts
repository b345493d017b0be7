/**
 * Saving and loading files in Deno: ensembles and checkpoints (sealed safetensors), text such as
 * SVG charts, and the serving exports (an ONNX model, a Triton model repository).
 *
 * This entry point uses `Deno.*` and is kept out of the core module, which stays browser-safe.
 * Every save writes a temporary file in the target's directory, flushes it to the disk and renames
 * it over the target: a rename within one directory is atomic on POSIX file systems (rename(2)), so
 * a crash or a failed save leaves either the old file or the new one, never half of one.
 *
 * - Saving through a symbolic link writes the file the link points to (as `write-file-atomic`
 *   does); the link stays. A directory, or a link to one, is refused.
 * - Temporary files are named `.<name>.<pid>.<random>.snapfold-tmp`, and the save holds an
 *   exclusive advisory lock on its own until the rename. One that a killed process left behind
 *   (the system releases a dead process's locks) is removed by the next save into that
 *   directory, as is any over an hour old.
 * - Saving needs read and write permission on the target's directory (Deno's rename checks
 *   both); a missing permission is named with the flag that grants it.
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
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeCheckpoint, encodeCheckpoint } from "./lib/checkpoint_file.ts";
import { ConfigError, SnapfoldError } from "./lib/errors.ts";
import { orThrow, validation } from "./lib/validation.ts";
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
// Type only; the integrator moves Checkpoint with the trainer's config.
import type { Checkpoint } from "./lib/train/config.ts";

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
 * missing `--allow-read`/`--allow-write` flag, refusing a directory, or wrapping the file system's
 * error.
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
  return decodeEnsemble(await readBytes(path, "load ensemble from"));
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
 * Writes a checkpoint file atomically, sealed like an ensemble file; {@linkcode loadCheckpoint}
 * reads it back for `resume`.
 *
 * @example Stop, save, resume in another process
 * ```ts
 * import { randomState } from "@snapfold/snapfold";
 * import { loadCheckpoint, saveCheckpoint } from "@snapfold/snapfold/io";
 * import assert from "node:assert/strict";
 *
 * const checkpoint = {
 *   epoch: 5, step: 20, snapshotsTaken: 1, params: new Float32Array([0.25, -1]),
 *   optimizerState: new Float32Array([0, 0.5]), random: randomState(3).snapshot(),
 * };
 * const dir = await Deno.makeTempDir();
 * await saveCheckpoint(`${dir}/run.ckpt.safetensors`, checkpoint);
 * assert.deepEqual(await loadCheckpoint(`${dir}/run.ckpt.safetensors`), checkpoint);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param path Where to write (the directory must exist).
 * @param checkpoint The checkpoint, as a `checkpoint` event carries it.
 * @throws {ConfigError} for a bad checkpoint (nothing is written); {@linkcode SnapfoldError} as
 * {@linkcode saveEnsemble} throws.
 */
export async function saveCheckpoint(path: string | URL, checkpoint: Checkpoint): Promise<void> {
  await writeAtomic(path, encodeCheckpoint(checkpoint), "save checkpoint to");
}

/**
 * Reads and decodes a checkpoint file, verifying its seal; a damaged file is rejected whole.
 *
 * @example
 * ```ts
 * import { ConfigError } from "@snapfold/snapfold";
 * import { loadCheckpoint } from "@snapfold/snapfold/io";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/bad.safetensors`, new Uint8Array(16));
 * await assert.rejects(loadCheckpoint(`${dir}/bad.safetensors`), ConfigError);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param path The file.
 * @returns The checkpoint, ready for a training config's `resume`.
 * @throws {ConfigError} for a damaged file; {@linkcode SnapfoldError} naming the missing
 * `--allow-read` flag, or wrapping the file system's error.
 */
export async function loadCheckpoint(path: string | URL): Promise<Checkpoint> {
  return decodeCheckpoint(await readBytes(path, "load checkpoint from"));
}

/** Suffix of snapfold's temporary files: `.<name>.<pid>.<random>.snapfold-tmp`. */

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
  const root = join(toPath(dir, "save serving bundle to"), options.name ?? TRITON_MODEL_NAME);
  const paths = { model: join(root, "1", "model.onnx"), config: join(root, "config.pbtxt") };
  try {
    await Deno.mkdir(join(root, "1"), { recursive: true });
  } catch (e) {
    throw fileError(e, paths.model, "save serving bundle to", { needs: ["write"], where: root });
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

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.snapfold-tmp$/;
/** A temporary file this old is stale whoever owns it: no save takes an hour. */
const STALE_AFTER_MS = 60 * 60 * 1000;

async function readBytes(path: string | URL, what: string): Promise<Uint8Array> {
  const file = toPath(path, what);
  try {
    return await Deno.readFile(file);
  } catch (e) {
    throw fileError(e, file, what, { needs: ["read"], where: file });
  }
}

async function writeAtomic(path: string | URL, bytes: Uint8Array, what: string): Promise<void> {
  const given = toPath(path, what);
  const where = { needs: ["read", "write"] as Access[], where: dirname(resolve(given)) };
  let target: string;
  let info: Deno.FileInfo | null = null;
  try {
    target = await resolveLinks(given);
    info = await Deno.stat(target).catch((e) =>
      e instanceof Deno.errors.NotFound ? null : Promise.reject(e)
    );
  } catch (e) {
    throw fileError(e, given, what, where);
  }
  if (info !== null && !info.isFile) {
    const link = target === resolve(given) ? "" : ` (the link points to ${JSON.stringify(target)})`;
    const kind = info.isDirectory ? "a directory" : "not a regular file";
    throw new SnapfoldError(
      `Cannot ${what} ${JSON.stringify(given)}: it is ${kind}${link}: give the path of a file`,
    );
  }
  const dir = dirname(target);
  await removeStaleTemps(dir);
  // A cleaner in another process can remove the temporary file in the instant between its
  // creation and its lock; the rename then finds it gone, and the save starts over once.
  for (let attempt = 0;; attempt++) {
    try {
      await writeAndRename(dir, target, bytes, info?.mode ?? 0o644);
      break;
    } catch (e) {
      if (
        attempt === 0 && e instanceof Deno.errors.NotFound && (e as { vanished?: boolean }).vanished
      ) {
        continue;
      }
      throw fileError(e, given, what, { needs: ["read", "write"], where: dir });
    }
  }
  await syncDirectory(dir);
}

/** Writes a locked temporary file beside the target, flushes it, then renames it over the target. */
async function writeAndRename(
  dir: string,
  target: string,
  bytes: Uint8Array,
  mode: number,
): Promise<void> {
  const random = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const temp = join(dir, `.${basename(target)}.${Deno.pid}.${random}.snapfold-tmp`);
  const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
  let renamed = false;
  try {
    // Held until the file is closed: tells cleaners the save is alive. Best effort: a file system
    // without locks still saves, and its leftovers go by age.
    await file.lock(true).catch(() => {});
    let at = 0;
    while (at < bytes.length) at += await file.write(bytes.subarray(at));
    await file.syncData(); // the data reaches the disk before the rename makes it visible
    const vanished = (e: unknown): never => {
      if (e instanceof Deno.errors.NotFound) Object.assign(e, { vanished: true });
      throw e;
    };
    // The result gets the mode of the file it replaces, or the usual 0644 of a new file.
    await Deno.chmod(temp, mode & 0o777).catch(vanished);
    // Renamed while still open and locked, so no cleaner ever sees it unlocked and complete.
    await Deno.rename(temp, target).catch(vanished);
    renamed = true;
  } finally {
    file.close();
    if (!renamed) await Deno.remove(temp).catch(() => {});
  }
}

/**
 * The file a path names after following symbolic links, so that a save replaces the link's target
 * and keeps the link; a dangling link's target is created.
 */
async function resolveLinks(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  let at = resolve(path);
  for (let hops = 0; hops < 40; hops++) { // Linux's MAXSYMLINKS
    const info = await Deno.lstat(at).catch((e) =>
      e instanceof Deno.errors.NotFound ? null : Promise.reject(e)
    );
    if (info === null || !info.isSymlink) return at;
    at = resolve(dirname(at), await Deno.readLink(at));
  }
  throw new Error("too many levels of symbolic links");
}

/** Removes the temporary files that dead saves left in `dir` (best effort: never fails a save). */
async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = (await Array.fromAsync(Deno.readDir(dir))).filter((e) => e.isFile).map((e) => e.name);
  } catch {
    return;
  }
  for (const name of names) {
    const match = TEMP_NAME.exec(name);
    if (match === null) continue;
    const path = join(dir, name);
    try {
      const mtime = (await Deno.lstat(path)).mtime;
      const old = mtime !== null && Date.now() - mtime.getTime() > STALE_AFTER_MS;
      // This process's own saves are never probed: its locks may not exclude itself.
      if (old || Number(match[1]) !== Deno.pid) {
        const file = await Deno.open(path, { read: true });
        try {
          if (old || await file.tryLock(true)) await Deno.remove(path);
        } finally {
          file.close();
        }
      }
    } catch {
      // Gone already, or not ours to remove: leave it.
    }
  }
}

/** Flushes the directory entry of the rename (best effort: not every system can open a directory). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.syncData();
    } finally {
      handle.close();
    }
  } catch {
    // The file itself is complete and in place; only its survival of a power cut is less certain.
  }
}

type Access = "read" | "write";

function fileError(
  e: unknown,
  path: string,
  what: string,
  access: { needs: ReadonlyArray<Access>; where: string },
): Error {
  const target = JSON.stringify(path);
  const { where } = access;
  if (e instanceof Deno.errors.NotCapable) {
    // Ask Deno which permission is really missing (a rename needs read as well as write).
    let missing = access.needs.filter((name) =>
      Deno.permissions.querySync({ name, path: where }).state !== "granted"
    );
    if (missing.length === 0) {
      const said = /Requires (read|write) access/.exec(String((e as Error).message))?.[1] as Access;
      missing = [said ?? access.needs.at(-1)!];
    }
    const flags = missing.map((name) => `--allow-${name}=${where}`).join(" ");
    const names = missing.length === 1
      ? `${missing[0]} permission is`
      : `${missing.join(" and ")} permissions are`;
    return new SnapfoldError(`Cannot ${what} ${target}: ${names} missing: run with ${flags}`, {
      cause: e,
    });
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    const kind = access.needs.includes("write") ? "write to the directory" : "read";
    return new SnapfoldError(
      `Cannot ${what} ${target}: the operating system denied access: check that you may ${kind} ` +
        `${JSON.stringify(where)}`,
      { cause: e },
    );
  }
  const detail = e instanceof Error ? e.message : String(e);
  return new SnapfoldError(`Cannot ${what} ${target}: ${detail}`, { cause: e });
}

function toPath(path: string | URL, what: string): string {
  const ok = (typeof path === "string" && path.length > 0) ||
    (path instanceof URL && path.protocol === "file:");
  if (!ok) {
    throw new ConfigError(`Cannot ${what.replace(/ (to|from)$/, "")}`, [{
      field: "path",
      message: "must be a non-empty file path or a file: URL",
      got: path instanceof URL ? path.href : typeof path === "string" ? path : typeof path,
    }]);
  }
  return path instanceof URL ? fileURLToPath(path) : path as string;
}
