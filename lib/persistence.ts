/**
 * Ensemble files: a whole snapshot ensemble in one safetensors file, encoded and decoded in memory
 * (pure, browser-safe; saving to paths lives in the `./io` entry point).
 *
 * The format is safetensors (https://github.com/huggingface/safetensors, "Format"): 8 bytes of
 * little-endian u64 header length N, N bytes of JSON header, then the byte buffer. The header maps
 * each tensor name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the byte
 * buffer; together the tensors cover it without holes or overlaps) and `__metadata__` to a map of
 * strings. snapfold pads the header with spaces to a multiple of 8 bytes, so every tensor is aligned.
 *
 * Tensors (all `F32`, little-endian), stacked over the M members in snapshot order, for each dense
 * layer `l` with `inDim = layers[l]` and `outDim = layers[l + 1]` (the widths of `snapfold.layers`):
 * - `layers.{l}.weight`: `[M, inDim, outDim]`, so `z = x @ W[m] + b[m]` (Keras' kernel layout;
 *   PyTorch's `nn.Linear.weight` is the transpose, `W[m].T`);
 * - `layers.{l}.bias`: `[M, outDim]`.
 *
 * Metadata (strings; JSON where structured): `snapfold.version`, `snapfold.layers` (the widths, e.g.
 * `[2,25,3]`), `snapfold.activation` (one activation for every hidden layer) or, for a network with
 * dropout or per-layer activations, `snapfold.model` (`{ inputs, layers }` as `sequential` takes
 * them), `snapfold.head`, `snapfold.members` (one `{ index, epoch, step, lr }` (plus `replica` when set) per
 * member), `snapfold.schedule` (`{ name, options }`, when known), and the SHA-256 seal
 * (`snapfold.data_sha256`, `snapfold.header_sha256`: see `lib/safetensors.ts`). Every other key is
 * the user's.
 *
 * Decoding is strict (the safetensors reference's rules, duplicate JSON keys rejected, every field
 * validated) and verifies the seal, so a file either loads exactly as it was written or not at all.
 *
 * In Python, without snapfold (`relu` hidden layers here):
 * ```python
 * import json, numpy as np
 * from safetensors import safe_open
 * with safe_open("ensemble.safetensors", "np") as f:
 *     meta, t = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
 * depth = len(json.loads(meta["snapfold.layers"])) - 1
 * def member_logits(x, m):
 *     h = x
 *     for l in range(depth):
 *         h = h @ t[f"layers.{l}.weight"][m] + t[f"layers.{l}.bias"][m]
 *         h = np.maximum(h, 0) if l < depth - 1 else h
 *     return h  # softmax it for a "softmax" head
 * ```
 *
 * @module
 */
import type { ConfigIssue } from "./errors.ts";
import { check, orThrow, type Validation, validation } from "./validation.ts";
import {
  isModelSpec,
  type MlpSpec,
  paramCount,
  sameSpec,
  validateSequential,
} from "./model/mod.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";
import type { ScheduleSpec } from "./schedules/mod.ts";
import {
  jsonTextIssues,
  memberIssues,
  nestsDeeper,
  RECORD_DEPTH,
  scheduleIssues,
  shallow,
} from "./file_records.ts";
import type { Snapshot } from "./snapshot.ts";
import { VERSION } from "./version.ts";
import {
  checkRecords,
  DECODE,
  layerShapes,
  parseLayout,
  PREFIX,
  specMetadata,
} from "./persistence_layout.ts";

/** What {@linkcode encodeEnsemble} writes. */
export interface EnsembleData {
  /** The members, in order; all of one network. */
  readonly snapshots: ReadonlyArray<Snapshot>;
  /** The schedule that produced them, if known. */
  readonly schedule?: ScheduleSpec;
  /** Free-form strings to keep beside them; keys must not start with `snapfold.`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** What {@linkcode decodeEnsemble} returns. */
export interface DecodedEnsemble {
  /** The members, in file order, each with its own copy of the parameters. */
  readonly snapshots: Snapshot[];
  /** The schedule, or null when the file has none. */
  readonly schedule: ScheduleSpec | null;
  /** The user's metadata (every key that does not start with `snapfold.`). */
  readonly metadata: Record<string, string>;
  /** The snapfold version that wrote the file. */
  readonly version: string;
  /**
   * Things that loaded but deserve a look: a file from another snapfold version, a file without a
   * seal (written before seals existed: its integrity could not be checked), parameters that are
   * NaN or infinite (kept as they are: a diverged member is still evidence).
   */
  readonly warnings: string[];
  /** Whether the file's SHA-256 seal was verified (false for files written before seals existed). */
  readonly verified: boolean;
}

const ENCODE = "Cannot encode ensemble";
/**
 * What a file without a seal (written before snapfold sealed its files) gets in `warnings`.
 *
 * @example
 * ```ts
 * import { UNSEALED_WARNING } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * assert.match(UNSEALED_WARNING, /carries no checksum/);
 * ```
 */
export const UNSEALED_WARNING: string =
  "the file carries no checksum (written before snapfold sealed its files): its integrity could " +
  "not be verified; save it again to seal it";

/**
 * Encodes an ensemble as safetensors bytes (layout in the module documentation).
 *
 * @example Round trip
 * ```ts
 * import { decodeEnsemble, encodeEnsemble, initParams, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 4, 3] });
 * const snapshots = [1, 2].map((index) => ({
 *   index, epoch: 10 * index - 1, step: 40 * index - 1, lr: 0, spec,
 *   params: initParams(spec, { seed: index }),
 * }));
 * const bytes = encodeEnsemble({ snapshots, metadata: { dataset: "blobs" } });
 * const back = decodeEnsemble(bytes);
 * assert.deepEqual(back.snapshots[1].params, snapshots[1].params);
 * assert.deepEqual(back.metadata, { dataset: "blobs" });
 * assert.equal(back.snapshots[0].step, 39);
 * ```
 *
 * @param data The snapshots, the schedule and metadata.
 * @returns The file's bytes.
 * @throws {ConfigError} naming every bad field.
 */
export function encodeEnsemble(data: EnsembleData): Uint8Array<ArrayBuffer> {
  const { snapshots, schedule, metadata = {} } = orThrow(ENCODE, validateEnsembleData(data));
  const spec = snapshots[0].spec;
  const m = snapshots.length;
  const views = layerShapes(spec);

  const tensors: Record<string, unknown> = {};
  const meta: Record<string, string> = {
    ...metadata,
    [`${PREFIX}version`]: VERSION,
    ...specMetadata(spec),
    [`${PREFIX}members`]: JSON.stringify(
      snapshots.map(({ index, epoch, step, lr, replica }) =>
        replica === undefined ? { index, epoch, step, lr } : { index, epoch, step, lr, replica }
      ),
    ),
  };
  if (schedule !== undefined) meta[`${PREFIX}schedule`] = JSON.stringify(schedule);
  let offset = 0;
  for (const v of views) {
    const wBytes = m * v.inDim * v.outDim * 4;
    tensors[`layers.${v.layer}.weight`] = {
      dtype: "F32",
      shape: [m, v.inDim, v.outDim],
      data_offsets: [offset, offset + wBytes],
    };
    offset += wBytes;
    const bBytes = m * v.outDim * 4;
    tensors[`layers.${v.layer}.bias`] = {
      dtype: "F32",
      shape: [m, v.outDim],
      data_offsets: [offset, offset + bBytes],
    };
    offset += bBytes;
  }

  const buffer = new Uint8Array(offset);
  const view = new DataView(buffer.buffer);
  let at = 0;
  for (const v of views) {
    // Weights of every member, then biases of every member: [M, inDim, outDim], [M, outDim].
    for (const s of snapshots) {
      for (let k = 0; k < v.inDim * v.outDim; k++, at += 4) {
        view.setFloat32(at, s.params[v.weightOffset + k], true);
      }
    }
    for (const s of snapshots) {
      for (let k = 0; k < v.outDim; k++, at += 4) {
        view.setFloat32(at, s.params[v.biasOffset + k], true);
      }
    }
  }
  return writeSafetensors(tensors, meta, buffer, ENCODE);
}

/**
 * Decodes safetensors bytes written by {@linkcode encodeEnsemble}, checking everything before
 * building anything: a file is loaded whole or not at all.
 *
 * @example A truncated file is rejected
 * ```ts
 * import { ConfigError, decodeEnsemble, encodeEnsemble, initParams, mlp } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 3] });
 * const bytes = encodeEnsemble({
 *   snapshots: [{ index: 1, epoch: 0, step: 0, lr: 0.1, spec, params: initParams(spec, { seed: 0 }) }],
 * });
 * assert.equal(decodeEnsemble(bytes).version.length > 0, true);
 * assert.throws(() => decodeEnsemble(bytes.subarray(0, bytes.length - 4)), ConfigError);
 * ```
 *
 * @param bytes The file's bytes.
 * @returns The snapshots, schedule, user metadata, writer version and warnings.
 * @throws {ConfigError} for truncated, corrupt or inconsistent files, naming what is wrong.
 */
export function decodeEnsemble(bytes: Uint8Array): DecodedEnsemble {
  const file = readSafetensors(bytes, DECODE, ["F32"], (meta) =>
    check.that(
      meta[`${PREFIX}checkpoint`] === undefined,
      "file",
      "is a checkpoint, not an ensemble: load it with loadCheckpoint (or decodeCheckpoint)",
    ));
  const meta = file.metadata as Record<string, string>;
  const tensors = new Map(file.tensors);
  orThrow(DECODE, validation(jsonTextIssues(meta, PREFIX), null));
  const layout = parseLayout(meta, tensors);
  orThrow(DECODE, validation(checkRecords(meta), null));
  const warnings: string[] = file.sealed ? [] : [UNSEALED_WARNING];
  if (layout.version !== VERSION) {
    warnings.push(
      `file written by snapfold ${layout.version}, read by ${VERSION}: check the results if the format changed`,
    );
  }

  // Everything is checked: copy the floats out (DataView: correct on any host byte order).
  const view = new DataView(file.data.buffer, file.data.byteOffset, file.data.byteLength);
  const dataStart = 0; // the view starts at the data: offsets are relative to it
  const { spec, members } = layout;
  const count = paramCount(spec);
  const m = members.length;
  const params = members.map(() => new Float32Array(count));
  let nonFinite = 0;
  for (const { layer, inDim, outDim, weightOffset, biasOffset } of layerShapes(spec)) {
    const w = tensors.get(`layers.${layer}.weight`)!;
    const b = tensors.get(`layers.${layer}.bias`)!;
    for (let i = 0; i < m; i++) {
      const dst = params[i];
      let at = dataStart + w.begin + i * inDim * outDim * 4;
      for (let k = 0; k < inDim * outDim; k++, at += 4) {
        dst[weightOffset + k] = view.getFloat32(at, true);
      }
      at = dataStart + b.begin + i * outDim * 4;
      for (let k = 0; k < outDim; k++, at += 4) dst[biasOffset + k] = view.getFloat32(at, true);
    }
  }
  for (const p of params) {
    for (let k = 0; k < p.length; k++) if (!Number.isFinite(p[k])) nonFinite++;
  }
  if (nonFinite > 0) {
    warnings.push(
      `${nonFinite} parameters are NaN or infinite: predictions of those members will be too`,
    );
  }
  // fromEntries, not assignment: a user key "__proto__" stays a key.
  const metadata = Object.fromEntries(Object.entries(meta).filter(([k]) => !k.startsWith(PREFIX)));
  return {
    snapshots: members.map((s, i) => ({ ...s, spec, params: params[i] })),
    schedule: layout.schedule,
    metadata,
    version: layout.version,
    warnings,
    verified: file.sealed,
  };
}

function validateEnsembleData(data: EnsembleData): Validation<EnsembleData> {
  const issues: ConfigIssue[] = [];
  const snapshots = data?.snapshots;
  if (!Array.isArray(snapshots) || snapshots.length === 0) {
    issues.push({
      field: "snapshots",
      message: "must be a non-empty list of snapshots",
      got: shallow(snapshots),
    });
  } else {
    const first = snapshots[0]?.spec;
    // A hostile spec is summarised before the model's validator can render it.
    const sane = nestsDeeper(first, RECORD_DEPTH) ? shallow(first) as MlpSpec : first;
    const specResult = validateSequential(sane ?? ({} as MlpSpec));
    if (specResult._tag === "Left") {
      issues.push(...specResult.left.map((i) => ({ ...i, field: `snapshots[0].spec.${i.field}` })));
    }
    snapshots.forEach((s: Snapshot, i: number) => {
      if (s === null || typeof s !== "object") {
        issues.push({ field: `snapshots[${i}]`, message: "must be a snapshot", got: shallow(s) });
        return;
      }
      issues.push(...memberIssues(s, `snapshots[${i}]`));
      if (specResult._tag === "Right") {
        issues.push(
          ...check.that(
            isModelSpec(s.spec) && sameSpec(s.spec, first),
            `snapshots[${i}].spec`,
            "must equal the spec of snapshots[0]: one file holds one network",
            shallow(s.spec),
          ),
        );
        const count = paramCount(first);
        issues.push(
          ...check.that(
            s.params instanceof Float32Array && s.params.length === count,
            `snapshots[${i}].params`,
            `must be a Float32Array of ${count} parameters`,
            shallow(s.params),
          ),
        );
      }
    });
  }
  const schedule = data?.schedule;
  if (schedule !== undefined) issues.push(...scheduleIssues(schedule, "schedule"));
  const metadata = data?.metadata ?? {};
  if (metadata === null || typeof metadata !== "object") {
    issues.push({ field: "metadata", message: "must be a map of strings", got: shallow(metadata) });
  } else {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        issues.push({ field: `metadata.${k}`, message: "must be a string", got: shallow(v) });
      }
      if (k.startsWith(PREFIX)) {
        issues.push({
          field: `metadata.${k}`,
          message: `must not start with "${PREFIX}": snapfold uses those keys`,
        });
      }
    }
  }
  return validation(issues, data);
}
