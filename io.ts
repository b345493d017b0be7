/**
 * Saving and loading files in Deno: ensembles (safetensors) and text such as SVG charts.
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
import { basename, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { SnapfoldError } from "./lib/errors.ts";
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
