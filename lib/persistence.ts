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
import { check, type ConfigIssue, orThrow, type Validation, validation } from "./errors.ts";
import {
  denseWidths,
  isModelSpec,
  type Layer,
  type MlpSpec,
  paramCount,
  paramLayout,
  sameSpec,
  validateMlp,
  validateSequential,
} from "./model/mod.ts";
import { readSafetensors, type TensorEntry, writeSafetensors } from "./safetensors.ts";
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

const PREFIX = "snapfold.";
const DECODE = "Cannot decode ensemble file";
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

interface Layout {
  readonly version: string;
  readonly spec: MlpSpec;
  readonly members: ReadonlyArray<
    { index: number; epoch: number; step: number; lr: number; replica?: number }
  >;
  readonly schedule: ScheduleSpec | null;
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
  const specResult = specFromMetadata(meta, need, json);
  const members = json("members", need("members"));
  const scheduleText = meta[`${PREFIX}schedule`];
  const schedule = json("schedule", scheduleText);
  orThrow(DECODE, validation(issues, null));
  if (specResult?._tag === "Left") {
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
  const widths = JSON.stringify(denseWidths(spec));
  const list = members as Array<
    { index: number; epoch: number; step: number; lr: number; replica?: number }
  >;
  const m = list.length;
  const expected = new Map<string, number[]>();
  for (const { layer, inDim, outDim } of layerShapes(spec)) {
    expected.set(`layers.${layer}.weight`, [m, inDim, outDim]);
    expected.set(`layers.${layer}.bias`, [m, outDim]);
  }
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (t === undefined) {
      issues.push({
        field: name,
        message: `is missing: layers ${widths} with ${m} members need it`,
      });
    } else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      issues.push({
        field: `${name}.shape`,
        message: `must be ${JSON.stringify(shape)} for layers ${widths} and ${m} members`,
        got: t.shape,
      });
    }
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name)) {
      issues.push({
        field: name,
        message: `is not a tensor of layers ${widths}: remove it`,
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

/** The member records and the schedule, checked as strictly as {@linkcode encodeEnsemble} does. */
function checkRecords(meta: Readonly<Record<string, string>>): ConfigIssue[] {
  const field = `__metadata__.${PREFIX}members`;
  const members = JSON.parse(meta[`${PREFIX}members`]) as unknown[];
  const issues = members.flatMap((m, i) => memberIssues(m, `${field}[${i}]`, true));
  const schedule = meta[`${PREFIX}schedule`];
  if (schedule !== undefined) {
    issues.push(...scheduleIssues(JSON.parse(schedule), `__metadata__.${PREFIX}schedule`));
  }
  return issues;
}

interface LayerShape {
  readonly layer: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly weightOffset: number;
  readonly biasOffset: number;
}

/** Offsets of each dense layer in one member's flat vector (from lib/model/layout.ts). */
function layerShapes(spec: MlpSpec): LayerShape[] {
  return paramLayout(spec).layers.map((d) => ({
    layer: d.index,
    inDim: d.inDim,
    outDim: d.outDim,
    weightOffset: d.weightOffset,
    biasOffset: d.biasOffset,
  }));
}

/**
 * The metadata that describes a network: `snapfold.layers` (the widths) and `snapfold.head`
 * always; `snapfold.activation` when one activation serves every hidden layer and there is no
 * dropout (the files of every version so far); otherwise `snapfold.model`, the JSON of
 * `{ inputs, layers }` as `sequential` takes them.
 */
function specMetadata(spec: MlpSpec): Record<string, string> {
  const layout = paramLayout(spec);
  const hidden = layout.layers.slice(0, -1);
  const activation = hidden.length === 0 ? "relu" : hidden[0].activation;
  const uniform = hidden.every((d) => d.activation === activation && d.dropout === 0);
  return {
    [`${PREFIX}layers`]: JSON.stringify(denseWidths(spec)),
    ...(uniform
      ? { [`${PREFIX}activation`]: activation }
      : { [`${PREFIX}model`]: JSON.stringify({ inputs: spec.inputs, layers: spec.layers }) }),
    [`${PREFIX}head`]: spec.head,
  };
}

/**
 * Reads the network from the metadata: `snapfold.model` when present (checked against
 * `snapfold.layers`), else `snapfold.layers` with `snapfold.activation`. Missing or unparsable
 * entries are reported through `need` and `json`; undefined then.
 */
function specFromMetadata(
  meta: Record<string, string>,
  need: (key: string) => string | undefined,
  json: (key: string, text: string | undefined) => unknown,
): Validation<MlpSpec> | undefined {
  const layers = json("layers", need("layers"));
  const head = need("head");
  const modelText = meta[`${PREFIX}model`];
  if (modelText === undefined) {
    const activation = need("activation");
    if (layers === undefined || activation === undefined || head === undefined) return undefined;
    return validateMlp({
      layers: layers as number[],
      activation: activation as never,
      head: head as never,
    });
  }
  const model = json("model", modelText) as { inputs?: unknown; layers?: unknown } | null;
  if (layers === undefined || model === undefined || head === undefined) return undefined;
  const result = validateSequential({
    inputs: model?.inputs as number,
    layers: model?.layers as Layer[],
    head: head as never,
  });
  if (result._tag === "Left") {
    return validation(
      result.left.map((i) => ({ ...i, field: `model.${i.field}` })),
      result.left as never,
    );
  }
  const widths = JSON.stringify(denseWidths(result.right));
  return validation(
    check.that(
      JSON.stringify(layers) === widths,
      "layers",
      `must be the widths of snapfold.model, ${widths}`,
      layers,
    ),
    result.right,
  );
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
