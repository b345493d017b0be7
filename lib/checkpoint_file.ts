/**
 * Checkpoint files: what a stopped run needs to continue, in one sealed safetensors file, encoded
 * and decoded in memory (pure, browser-safe; `saveCheckpoint`/`loadCheckpoint` in `./io` write and
 * read paths).
 *
 * Tensors: `params` (`F32`, `[replicas * paramCount]`), `optimizer_state` (`F32`,
 * `[replicas * stateSize]`), `random.key` (`U32`, `[624]`: the batch-order generator's MT19937
 * words). Metadata (strings): `snapfold.version`, `snapfold.checkpoint` (JSON
 * `{ epoch, step, snapshotsTaken, random: { pos, hasGauss, gauss } }`) and the SHA-256 seal of the
 * ensemble files (see `lib/safetensors.ts`). Checkpoint files are new, so a seal is required.
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { check, orThrow, validation } from "./validation.ts";
import { shallow } from "./file_records.ts";
import { restoreRandomState } from "./random.ts";
import {
  DATA_SEAL,
  readSafetensors,
  type SafetensorsFile,
  type TensorEntry,
  writeSafetensors,
} from "./safetensors.ts";
import { scanJson } from "./strict_json.ts";
// Type only: the trainer is not loaded by this module.
import type { Checkpoint } from "./train/config.ts";
import { VERSION } from "./version.ts";

const ENCODE = "Cannot encode checkpoint";
const DECODE = "Cannot decode checkpoint file";
const VERSION_KEY = "snapfold.version";
const RECORD_KEY = "snapfold.checkpoint";
const KEY_WORDS = 624;
const TENSORS = ["params", "optimizer_state", "random.key"];

/**
 * Encodes a checkpoint as sealed safetensors bytes (layout in the module documentation).
 *
 * @example
 * ```ts
 * import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint_file.ts";
 * import { randomState } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const checkpoint = {
 *   epoch: 2, step: 8, snapshotsTaken: 1,
 *   params: new Float32Array([0.5, -1]), optimizerState: new Float32Array(0),
 *   random: randomState(7).snapshot(),
 * };
 * assert.deepEqual(decodeCheckpoint(encodeCheckpoint(checkpoint)), checkpoint);
 * ```
 *
 * @param checkpoint The checkpoint, as a `checkpoint` event carries it.
 * @returns The file's bytes.
 * @throws {ConfigError} naming every bad field.
 */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array<ArrayBuffer> {
  const c = orThrow(ENCODE, validation(checkpointIssues(checkpoint), checkpoint));
  const p = c.params.length * 4;
  const o = c.optimizerState.length * 4;
  const data = new Uint8Array(p + o + KEY_WORDS * 4);
  const view = new DataView(data.buffer);
  c.params.forEach((v, k) => view.setFloat32(4 * k, v, true));
  c.optimizerState.forEach((v, k) => view.setFloat32(p + 4 * k, v, true));
  c.random.key.forEach((v, k) => view.setUint32(p + o + 4 * k, v, true));
  const { pos, hasGauss, gauss } = c.random;
  return writeSafetensors(
    {
      params: { dtype: "F32", shape: [c.params.length], data_offsets: [0, p] },
      optimizer_state: { dtype: "F32", shape: [c.optimizerState.length], data_offsets: [p, p + o] },
      "random.key": { dtype: "U32", shape: [KEY_WORDS], data_offsets: [p + o, data.length] },
    },
    {
      [VERSION_KEY]: VERSION,
      [RECORD_KEY]: JSON.stringify({
        epoch: c.epoch,
        step: c.step,
        snapshotsTaken: c.snapshotsTaken,
        random: { pos, hasGauss, gauss },
      }),
    },
    data,
    ENCODE,
  );
}

/**
 * Decodes a checkpoint file written by {@linkcode encodeCheckpoint}, verifying its seal and every
 * field before building anything.
 *
 * @example A flipped bit is rejected
 * ```ts
 * import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint_file.ts";
 * import { ConfigError, randomState } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeCheckpoint({
 *   epoch: 1, step: 4, snapshotsTaken: 0, params: new Float32Array(3),
 *   optimizerState: new Float32Array(3), random: randomState(1).snapshot(),
 * });
 * bytes[bytes.length - 1] ^= 4;
 * assert.throws(() => decodeCheckpoint(bytes), ConfigError);
 * ```
 *
 * @param bytes The file's bytes.
 * @returns The checkpoint, ready for `resume`.
 * @throws {ConfigError} for a truncated, corrupt, unsealed or inconsistent file, naming what is wrong.
 */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const file = readSafetensors(bytes, DECODE, ["F32", "U32"], (meta) =>
    check.that(
      meta[RECORD_KEY] !== undefined || meta["snapfold.members"] === undefined,
      "file",
      "is an ensemble, not a checkpoint: load it with loadEnsemble (or decodeEnsemble)",
    ));
  const record = parseRecord(file);
  const params = new Float32Array(file.tensors.get("params")!.shape[0]);
  const optimizerState = new Float32Array(file.tensors.get("optimizer_state")!.shape[0]);
  const key = new Uint32Array(KEY_WORDS);
  readTensor(file, "params", params);
  readTensor(file, "optimizer_state", optimizerState);
  readTensor(file, "random.key", key);
  const random = record.random as Record<string, unknown>;
  const checkpoint = {
    epoch: record.epoch,
    step: record.step,
    params,
    optimizerState,
    random: {
      key: Array.from(key),
      pos: random.pos,
      hasGauss: random.hasGauss,
      gauss: random.gauss,
    },
    snapshotsTaken: record.snapshotsTaken,
  } as Checkpoint;
  const issues = checkpointIssues(checkpoint).map((i) => ({
    ...i,
    field: `__metadata__.${RECORD_KEY}.${i.field}`,
  }));
  orThrow(DECODE, validation(issues, null));
  return checkpoint;
}

/** The seal, the metadata record and the tensor table, checked; returns the record. */
function parseRecord(file: SafetensorsFile): Record<string, unknown> {
  const fail = (issues: ConfigIssue[]): void => {
    orThrow(DECODE, validation(issues, null));
  };
  const meta = file.metadata;
  fail([
    ...check.that(
      file.sealed,
      `__metadata__.${DATA_SEAL}`,
      "is missing: checkpoint files are always sealed (this file is damaged or was not written by snapfold)",
    ),
    ...check.that(meta[VERSION_KEY] !== undefined, `__metadata__.${VERSION_KEY}`, "is missing"),
    ...check.that(meta[RECORD_KEY] !== undefined, `__metadata__.${RECORD_KEY}`, "is missing"),
  ]);
  const text = meta[RECORD_KEY];
  const scan = scanJson(new TextEncoder().encode(text), { maxDepth: 4 }).problem;
  fail(check.that(scan === null, `__metadata__.${RECORD_KEY}`, `must be JSON: ${scan}`));
  const record = JSON.parse(text) as Record<string, unknown>;
  fail(
    check.that(
      record !== null && typeof record === "object" && !Array.isArray(record) &&
        record.random !== null && typeof record.random === "object" &&
        !Array.isArray(record.random),
      `__metadata__.${RECORD_KEY}`,
      "must be a JSON object { epoch, step, snapshotsTaken, random: { pos, hasGauss, gauss } }",
      shallow(record),
    ),
  );
  fail([
    ...check.knownKeys(record, ["epoch", "step", "snapshotsTaken", "random"], RECORD_KEY),
    ...check.knownKeys(record.random, ["pos", "hasGauss", "gauss"], `${RECORD_KEY}.random`),
    ...tensorIssues(file.tensors),
  ]);
  return record;
}

/** The three tensors, each of its type and shape, and no other. */
function tensorIssues(tensors: ReadonlyMap<string, TensorEntry>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const name of tensors.keys()) {
    if (!TENSORS.includes(name)) {
      issues.push({ field: name, message: "is not a checkpoint tensor" });
    }
  }
  const types = [["params", "F32"], ["optimizer_state", "F32"], ["random.key", "U32"]];
  for (const [name, dtype] of types) {
    const t = tensors.get(name);
    if (t === undefined) {
      issues.push({ field: name, message: "is missing" });
      continue;
    }
    issues.push(...check.that(t.dtype === dtype, `${name}.dtype`, `must be "${dtype}"`, t.dtype));
    const want = name === "random.key" ? `[${KEY_WORDS}]` : "one-dimensional";
    const ok = t.shape.length === 1 && (name !== "random.key" || t.shape[0] === KEY_WORDS);
    issues.push(...check.that(ok, `${name}.shape`, `must be ${want}`, t.shape));
  }
  return issues;
}

/** Copies a checked tensor out, little-endian on any host. */
function readTensor(file: SafetensorsFile, name: string, into: Float32Array | Uint32Array): void {
  const t = file.tensors.get(name)!;
  const view = new DataView(file.data.buffer, file.data.byteOffset + t.begin, t.end - t.begin);
  const float = into instanceof Float32Array;
  for (let k = 0; k < into.length; k++) {
    into[k] = float ? view.getFloat32(4 * k, true) : view.getUint32(4 * k, true);
  }
}

/** Every issue of a checkpoint: counts, the two vectors, the generator's state. */
function checkpointIssues(c: Checkpoint): ConfigIssue[] {
  if (c === null || typeof c !== "object") {
    return [{ field: "checkpoint", message: "must be a checkpoint object", got: shallow(c) }];
  }
  const issues = [
    ...check.nonNegativeInt("epoch", shallow(c.epoch)),
    ...check.nonNegativeInt("step", shallow(c.step)),
    ...check.nonNegativeInt("snapshotsTaken", shallow(c.snapshotsTaken)),
    ...check.that(
      Number.isSafeInteger(c.epoch) && Number.isSafeInteger(c.step) ? c.step >= c.epoch : true,
      "step",
      "must be at least epoch (every epoch has a step)",
      shallow(c.step),
    ),
  ];
  for (const k of ["params", "optimizerState"] as const) {
    issues.push(
      ...check.that(c[k] instanceof Float32Array, k, "must be a Float32Array", shallow(c[k])),
    );
  }
  const r = c.random as unknown as Record<string, unknown> | null;
  if (r === null || typeof r !== "object") {
    issues.push({
      field: "random",
      message: "must be the generator's state (RandomState.snapshot())",
      got: shallow(r),
    });
    return issues;
  }
  // Only shallow values reach the validator, so its messages never render a hostile structure.
  const key = Array.isArray(r.key) && r.key.length === KEY_WORDS
    ? r.key.map(shallow)
    : shallow(r.key);
  try {
    restoreRandomState({
      key: key as number[],
      pos: shallow(r.pos) as number,
      hasGauss: shallow(r.hasGauss) as boolean,
      gauss: shallow(r.gauss) as number,
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    issues.push(...e.issues.map((i) => ({ ...i, field: `random.${i.field}` })));
  }
  return issues;
}
