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
 * Tensors (all `F32`, little-endian), stacked over the M members in snapshot order, for each layer
 * `l` with `inDim = layers[l]` and `outDim = layers[l + 1]`:
 * - `layers.{l}.weight`: `[M, inDim, outDim]`, so `z = x @ W[m] + b[m]` (Keras' kernel layout;
 *   PyTorch's `nn.Linear.weight` is the transpose, `W[m].T`);
 * - `layers.{l}.bias`: `[M, outDim]`.
 *
 * Metadata (strings; JSON where structured): `snapfold.version`, `snapfold.layers` (e.g. `[2,25,3]`),
 * `snapfold.activation`, `snapfold.head`, `snapfold.members` (one `{ index, epoch, step, lr }` (plus `replica` when set) per
 * member), `snapfold.schedule` (`{ name, options }`, when known). Every other key is the user's.
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
import {
  check,
  ConfigError,
  type ConfigIssue,
  orThrow,
  type Validation,
  validation,
} from "./errors.ts";
import { type MlpSpec, paramCount, sameSpec, validateMlp } from "./model.ts";
import type { ScheduleSpec } from "./schedules/mod.ts";
import type { Snapshot } from "./snapshot.ts";
import { VERSION } from "./version.ts";

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
   * Things that loaded but deserve a look: a file from another snapfold version, parameters that
   * are NaN or infinite (kept as they are: a diverged member is still evidence).
   */
  readonly warnings: string[];
}

const PREFIX = "snapfold.";
const DECODE = "Cannot decode ensemble file";
const ENCODE = "Cannot encode ensemble";

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
    [`${PREFIX}layers`]: JSON.stringify(spec.layers),
    [`${PREFIX}activation`]: spec.activation,
    [`${PREFIX}head`]: spec.head,
    [`${PREFIX}members`]: JSON.stringify(
      snapshots.map(({ index, epoch, step, lr, replica }) =>
        replica === undefined ? { index, epoch, step, lr } : { index, epoch, step, lr, replica }
      ),
    ),
  };
  if (schedule !== undefined) meta[`${PREFIX}schedule`] = JSON.stringify(schedule);
  tensors.__metadata__ = meta;
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

  const json = new TextEncoder().encode(JSON.stringify(tensors));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, 0, true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.length, 8 + headerLength); // spaces, as the format allows
  let at = 8 + headerLength;
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
  return bytes;
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
  if (!(bytes instanceof Uint8Array)) {
    throw new ConfigError(DECODE, [{
      field: "bytes",
      message: "must be a Uint8Array",
      got: bytes,
    }]);
  }
  const fail = (field: string, message: string, got?: unknown): never => {
    throw new ConfigError(DECODE, check.that(false, field, message, got));
  };
  if (bytes.length < 8) fail("file", "must hold at least the 8-byte header length", bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  if (high !== 0 || low > bytes.length - 8) {
    fail(
      "header length",
      `must fit in the file (${
        bytes.length - 8
      } bytes after it): the file is truncated or not safetensors`,
      high * 2 ** 32 + low,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + low)),
    );
  } catch (e) {
    fail("header", `must be UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    fail("header", "must be a JSON object", header);
  }
  const entries = header as Record<string, unknown>;
  const bufferLength = bytes.length - 8 - low;

  const meta = parseMetadata(entries.__metadata__);
  const tensors = parseTensors(entries, bufferLength);
  const layout = parseLayout(meta, tensors);
  const warnings: string[] = [];
  if (layout.version !== VERSION) {
    warnings.push(
      `file written by snapfold ${layout.version}, read by ${VERSION}: check the results if the format changed`,
    );
  }

  // Everything is checked: copy the floats out (DataView: correct on any host byte order).
  const dataStart = 8 + low;
  const { spec, members } = layout;
  const count = paramCount(spec);
  const m = members.length;
  const params = members.map(() => new Float32Array(count));
  let offset = 0;
  let nonFinite = 0;
  for (let l = 0; l + 1 < spec.layers.length; l++) {
    const inDim = spec.layers[l];
    const outDim = spec.layers[l + 1];
    const w = tensors.get(`layers.${l}.weight`)!;
    const b = tensors.get(`layers.${l}.bias`)!;
    for (let i = 0; i < m; i++) {
      const dst = params[i];
      let at = dataStart + w.begin + i * inDim * outDim * 4;
      for (let k = 0; k < inDim * outDim; k++, at += 4) dst[offset + k] = view.getFloat32(at, true);
      at = dataStart + b.begin + i * outDim * 4;
      const bo = offset + inDim * outDim;
      for (let k = 0; k < outDim; k++, at += 4) dst[bo + k] = view.getFloat32(at, true);
    }
    offset += inDim * outDim + outDim;
  }
  for (const p of params) {
    for (let k = 0; k < p.length; k++) if (!Number.isFinite(p[k])) nonFinite++;
  }
  if (nonFinite > 0) {
    warnings.push(
      `${nonFinite} parameters are NaN or infinite: predictions of those members will be too`,
    );
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (!k.startsWith(PREFIX)) metadata[k] = v;
  return {
    snapshots: members.map((s, i) => ({ ...s, spec, params: params[i] })),
    schedule: layout.schedule,
    metadata,
    version: layout.version,
    warnings,
  };
}

interface TensorEntry {
  readonly shape: ReadonlyArray<number>;
  readonly begin: number;
  readonly end: number;
}

interface Layout {
  readonly version: string;
  readonly spec: MlpSpec;
  readonly members: ReadonlyArray<
    { index: number; epoch: number; step: number; lr: number; replica?: number }
  >;
  readonly schedule: ScheduleSpec | null;
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(DECODE, [{
      field: "__metadata__",
      message: "must be a map of strings (this file was not written by snapfold)",
      got: raw,
    }]);
  }
  const issues: ConfigIssue[] = [];
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") {
      issues.push({ field: `__metadata__.${k}`, message: "must be a string", got: v });
    }
  }
  orThrow(DECODE, validation(issues, null));
  return raw as Record<string, string>;
}

/** Checks every tensor entry, then that they tile the byte buffer exactly. */
function parseTensors(
  entries: Record<string, unknown>,
  bufferLength: number,
): Map<string, TensorEntry> {
  const issues: ConfigIssue[] = [];
  const tensors = new Map<string, TensorEntry>();
  for (const [name, raw] of Object.entries(entries)) {
    if (name === "__metadata__") continue;
    const e = raw as Record<string, unknown> | null;
    if (e === null || typeof e !== "object" || Array.isArray(e)) {
      issues.push({
        field: name,
        message: "must be an object with dtype, shape and data_offsets",
        got: raw,
      });
      continue;
    }
    const before = issues.length;
    issues.push(...check.that(e.dtype === "F32", `${name}.dtype`, 'must be "F32"', e.dtype));
    const shape = e.shape;
    const shapeOk = Array.isArray(shape) &&
      shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0);
    issues.push(
      ...check.that(shapeOk, `${name}.shape`, "must be a list of non-negative integers", shape),
    );
    const offsets = e.data_offsets;
    const offsetsOk = Array.isArray(offsets) && offsets.length === 2 &&
      offsets.every((d) => typeof d === "number" && Number.isSafeInteger(d)) &&
      0 <= offsets[0] && offsets[0] <= offsets[1] && offsets[1] <= bufferLength;
    issues.push(
      ...check.that(
        offsetsOk,
        `${name}.data_offsets`,
        `must be [begin, end] with 0 <= begin <= end <= ${bufferLength} (the data size)`,
        offsets,
      ),
    );
    if (issues.length > before) continue;
    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, d) => a * d, 1);
    issues.push(
      ...check.that(
        end - begin === elements * 4,
        `${name}.data_offsets`,
        `must span ${elements * 4} bytes for shape ${JSON.stringify(shape)} of F32`,
        offsets,
      ),
    );
    tensors.set(name, { shape: shape as number[], begin, end });
  }
  orThrow(DECODE, validation(issues, null));
  // The format requires the tensors to cover the buffer exactly: no holes, no overlaps.
  const sorted = [...tensors.entries()].sort((a, b) =>
    a[1].begin - b[1].begin || a[1].end - b[1].end
  );
  let at = 0;
  for (const [name, t] of sorted) {
    if (t.begin !== at) {
      const what = t.begin < at ? "overlaps the tensor before it" : "leaves a hole before it";
      issues.push({
        field: `${name}.data_offsets`,
        message: `must start at byte ${at}: ${what}`,
        got: [t.begin, t.end],
      });
    }
    at = Math.max(at, t.end);
  }
  if (at !== bufferLength) {
    issues.push({
      field: "data",
      message: `must be covered by the tensors exactly (they end at byte ${at})`,
      got: `${bufferLength} bytes`,
    });
  }
  orThrow(DECODE, validation(issues, null));
  return tensors;
}

/** Reads the network, members and schedule from the metadata and checks the tensors against them. */
function parseLayout(meta: Record<string, string>, tensors: Map<string, TensorEntry>): Layout {
  const issues: ConfigIssue[] = [];
  const need = (key: string): string | undefined => {
    const v = meta[`${PREFIX}${key}`];
    if (v === undefined) {
      issues.push({
        field: `__metadata__.${PREFIX}${key}`,
        message: "is missing (this file was not written by snapfold)",
      });
    }
    return v;
  };
  const json = (key: string, text: string | undefined): unknown => {
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      issues.push({ field: `__metadata__.${PREFIX}${key}`, message: "must be JSON", got: text });
      return undefined;
    }
  };
  const version = need("version");
  const layers = json("layers", need("layers"));
  const activation = need("activation");
  const head = need("head");
  const members = json("members", need("members"));
  const scheduleText = meta[`${PREFIX}schedule`];
  const schedule = json("schedule", scheduleText);
  orThrow(DECODE, validation(issues, null));

  const specResult = validateMlp({
    layers: layers as number[],
    activation: activation as never,
    head: head as never,
  });
  if (specResult._tag === "Left") {
    issues.push(
      ...specResult.left.map((i) => ({ ...i, field: `__metadata__.${PREFIX}${i.field}` })),
    );
  }
  const memberOk = (x: unknown): boolean => {
    if (x === null || typeof x !== "object") return false;
    const r = x as Record<string, unknown>;
    return ["index", "epoch", "step", "lr"].every((k) => typeof r[k] === "number") &&
      (r.replica === undefined || Number.isSafeInteger(r.replica));
  };
  issues.push(
    ...check.that(
      Array.isArray(members) && members.length >= 1 && members.every(memberOk),
      `__metadata__.${PREFIX}members`,
      "must be a non-empty list of { index, epoch, step, lr }",
      members,
    ),
  );
  if (scheduleText !== undefined) {
    const s = schedule as Record<string, unknown> | null;
    issues.push(
      ...check.that(
        s !== null && typeof s === "object" && typeof s.name === "string" &&
          s.options !== null && typeof s.options === "object" && !Array.isArray(s.options),
        `__metadata__.${PREFIX}schedule`,
        "must be a JSON object { name, options }",
        scheduleText,
      ),
    );
  }
  orThrow(DECODE, validation(issues, null));

  const spec = (specResult as { right: MlpSpec }).right;
  const list = members as Array<
    { index: number; epoch: number; step: number; lr: number; replica?: number }
  >;
  const m = list.length;
  const expected = new Map<string, number[]>();
  for (let l = 0; l + 1 < spec.layers.length; l++) {
    expected.set(`layers.${l}.weight`, [m, spec.layers[l], spec.layers[l + 1]]);
    expected.set(`layers.${l}.bias`, [m, spec.layers[l + 1]]);
  }
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (t === undefined) {
      issues.push({
        field: name,
        message: `is missing: layers ${JSON.stringify(spec.layers)} with ${m} members need it`,
      });
    } else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      issues.push({
        field: `${name}.shape`,
        message: `must be ${JSON.stringify(shape)} for layers ${
          JSON.stringify(spec.layers)
        } and ${m} members`,
        got: t.shape,
      });
    }
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name)) {
      issues.push({
        field: name,
        message: `is not a tensor of layers ${JSON.stringify(spec.layers)}: remove it`,
      });
    }
  }
  orThrow(DECODE, validation(issues, null));
  return {
    version: version!,
    spec,
    members: list.map(({ index, epoch, step, lr, replica }) =>
      replica === undefined ? { index, epoch, step, lr } : { index, epoch, step, lr, replica }
    ),
    schedule: scheduleText === undefined ? null : (schedule as ScheduleSpec),
  };
}

interface LayerShape {
  readonly layer: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly weightOffset: number;
  readonly biasOffset: number;
}

/** Offsets of each layer in one member's flat vector (the layout documented in the model module). */
function layerShapes(spec: MlpSpec): LayerShape[] {
  const out: LayerShape[] = [];
  let offset = 0;
  for (let l = 0; l + 1 < spec.layers.length; l++) {
    const inDim = spec.layers[l];
    const outDim = spec.layers[l + 1];
    out.push({
      layer: l,
      inDim,
      outDim,
      weightOffset: offset,
      biasOffset: offset + inDim * outDim,
    });
    offset += inDim * outDim + outDim;
  }
  return out;
}

function validateEnsembleData(data: EnsembleData): Validation<EnsembleData> {
  const issues: ConfigIssue[] = [];
  const snapshots = data?.snapshots;
  if (!Array.isArray(snapshots) || snapshots.length === 0) {
    issues.push({
      field: "snapshots",
      message: "must be a non-empty list of snapshots",
      got: snapshots,
    });
  } else {
    const first = snapshots[0]?.spec;
    const specResult = validateMlp(first ?? ({} as MlpSpec));
    if (specResult._tag === "Left") {
      issues.push(...specResult.left.map((i) => ({ ...i, field: `snapshots[0].spec.${i.field}` })));
    }
    snapshots.forEach((s: Snapshot, i: number) => {
      if (s === null || typeof s !== "object") {
        issues.push({ field: `snapshots[${i}]`, message: "must be a snapshot", got: s });
        return;
      }
      for (const k of ["index", "epoch", "step", "lr"] as const) {
        issues.push(...check.finite(`snapshots[${i}].${k}`, s[k]));
      }
      if (specResult._tag === "Right") {
        issues.push(
          ...check.that(
            s.spec !== undefined && sameSpec(s.spec, first),
            `snapshots[${i}].spec`,
            "must equal the spec of snapshots[0]: one file holds one network",
            s.spec,
          ),
        );
        const count = paramCount(first);
        issues.push(
          ...check.that(
            s.params instanceof Float32Array && s.params.length === count,
            `snapshots[${i}].params`,
            `must be a Float32Array of ${count} parameters`,
            s.params,
          ),
        );
      }
    });
  }
  const schedule = data?.schedule;
  if (schedule !== undefined) {
    let ok = schedule !== null && typeof schedule === "object" &&
      typeof schedule.name === "string" &&
      schedule.options !== null && typeof schedule.options === "object";
    try {
      ok = ok && typeof JSON.stringify(schedule) === "string";
    } catch {
      ok = false;
    }
    issues.push(
      ...check.that(ok, "schedule", "must be a JSON-serialisable { name, options }", schedule),
    );
  }
  const metadata = data?.metadata ?? {};
  if (metadata === null || typeof metadata !== "object") {
    issues.push({ field: "metadata", message: "must be a map of strings", got: metadata });
  } else {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        issues.push({ field: `metadata.${k}`, message: "must be a string", got: v });
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
