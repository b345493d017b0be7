/**
 * The safetensors container that every snapfold file uses, read strictly and sealed with SHA-256.
 *
 * Layout (https://github.com/huggingface/safetensors, "Format"): 8 bytes of little-endian u64
 * header length N, N bytes of UTF-8 JSON header, then the byte buffer. The header maps each tensor
 * name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the byte buffer) and
 * `__metadata__` to a map of strings. snapfold pads the header with spaces to a multiple of 8.
 *
 * Reading follows the reference implementation's rules: N at most 100,000,000, the header starts
 * with `{`, no key appears twice in one object, every tensor lies inside the buffer and together
 * they cover it without holes or overlaps.
 *
 * The seal is two metadata strings, so plain safetensors readers still read the file:
 * - `snapfold.data_sha256`: SHA-256 of the byte buffer (`hashlib.sha256(raw[8 + n:])` in Python);
 * - `snapfold.header_sha256`: SHA-256 of the first `8 + N` bytes of the file with the 64 digits of
 *   this value itself replaced by `0` characters.
 *
 * A file carrying neither was written before seals existed and loads with a warning; a file
 * carrying one without the other, or a value that does not match, is rejected. Two keys rather
 * than one also mean that no single flipped bit can turn a sealed file into an unsealed one.
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { check, orThrow, validation } from "./validation.ts";
import { sha256Hex } from "./sha256.ts";
import { scanJson } from "./strict_json.ts";

/**
 * The largest header the safetensors reference reads (`MAX_HEADER_SIZE`).
 *
 * @example
 * ```ts
 * import { MAX_HEADER_BYTES } from "./safetensors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_HEADER_BYTES, 100_000_000);
 * ```
 */
export const MAX_HEADER_BYTES = 100_000_000;
/**
 * Metadata key of the tensor data's SHA-256.
 *
 * @example
 * ```ts
 * import { DATA_SEAL } from "./safetensors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DATA_SEAL, "snapfold.data_sha256");
 * ```
 */
export const DATA_SEAL = "snapfold.data_sha256";
/**
 * Metadata key of the header's SHA-256.
 *
 * @example
 * ```ts
 * import { HEADER_SEAL } from "./safetensors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(HEADER_SEAL, "snapfold.header_sha256");
 * ```
 */
export const HEADER_SEAL = "snapfold.header_sha256";
/** A header nests `{ name: { shape: [ ] } }`; anything much deeper is not safetensors. */
const HEADER_DEPTH = 8;
const BLANK = "0".repeat(64);
const DTYPE_BYTES: Readonly<Record<string, number>> = { F32: 4, U32: 4 };

/** One tensor of the header, checked against the buffer. */
export interface TensorEntry {
  /** The element type, e.g. `"F32"`. */
  readonly dtype: string;
  /** The dimensions. */
  readonly shape: ReadonlyArray<number>;
  /** First byte in the buffer. */
  readonly begin: number;
  /** One past the last byte in the buffer. */
  readonly end: number;
}

/** A file read by {@linkcode readSafetensors}: everything checked, nothing copied yet. */
export interface SafetensorsFile {
  /** The `__metadata__` strings (seals included). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The tensors by name. */
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  /** The byte buffer (a view into the file's bytes). */
  readonly data: Uint8Array;
  /** Whether the file carried a seal (and so was verified); false for files from before seals. */
  readonly sealed: boolean;
}

/**
 * Writes a safetensors file: the header (tensors and `__metadata__`), padding, the buffer, and the
 * seal added to the metadata.
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * import assert from "node:assert/strict";
 *
 * const data = new Uint8Array(new Float32Array([1, 2]).buffer);
 * const bytes = writeSafetensors(
 *   { x: { dtype: "F32", shape: [2], data_offsets: [0, 8] } },
 *   { note: "hi" },
 *   data,
 *   "Cannot write",
 * );
 * const file = readSafetensors(bytes, "Cannot read", ["F32"]);
 * assert.equal(file.sealed, true);
 * assert.equal(file.metadata.note, "hi");
 * assert.deepEqual(file.tensors.get("x")!.shape, [2]);
 * ```
 *
 * @param tensors Each tensor's `{ dtype, shape, data_offsets }`, in buffer order.
 * @param metadata The metadata strings (the seal keys are added).
 * @param data The buffer the offsets point into.
 * @param context What is being written, for the error message.
 * @returns The file's bytes.
 * @throws {ConfigError} when the header would exceed {@linkcode MAX_HEADER_BYTES}.
 */
export function writeSafetensors(
  tensors: Readonly<Record<string, unknown>>,
  metadata: Readonly<Record<string, string>>,
  data: Uint8Array,
  context: string,
): Uint8Array<ArrayBuffer> {
  const meta = { ...metadata, [DATA_SEAL]: sha256Hex(data), [HEADER_SEAL]: BLANK };
  const json = new TextEncoder().encode(JSON.stringify({ __metadata__: meta, ...tensors }));
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > MAX_HEADER_BYTES) {
    throw new ConfigError(context, [{
      field: "metadata",
      message: `must keep the file header within ${MAX_HEADER_BYTES} bytes (the safetensors limit)`,
      got: `${headerLength} bytes`,
    }]);
  }
  const bytes = new Uint8Array(8 + headerLength + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, 0, true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.length, 8 + headerLength); // spaces, as the format allows
  bytes.set(data, 8 + headerLength);
  const header = bytes.subarray(8, 8 + headerLength);
  const [begin, end] = scanJson(header, { find: ["__metadata__", HEADER_SEAL] }).found!;
  // The span holds the 64 zeros of BLANK, so the digest of the file as it is now is the seal.
  const seal = new TextEncoder().encode(sha256Hex(bytes.subarray(0, 8 + headerLength)));
  header.set(seal.subarray(0, end - begin), begin);
  return bytes;
}

/**
 * Reads a safetensors file strictly and verifies its seal, before anything is copied out.
 *
 * @example A flipped bit is caught
 * ```ts
 * import { ConfigError } from "@snapfold/snapfold";
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = writeSafetensors(
 *   { x: { dtype: "F32", shape: [1], data_offsets: [0, 4] } },
 *   {},
 *   new Uint8Array(4),
 *   "Cannot write",
 * );
 * bytes[bytes.length - 1] ^= 1;
 * assert.throws(() => readSafetensors(bytes, "Cannot read", ["F32"]), ConfigError);
 * ```
 *
 * @param bytes The file's bytes.
 * @param context What is being read, for error messages (e.g. `"Cannot decode ensemble file"`).
 * @param dtypes The element types allowed (`"F32"`, `"U32"`).
 * @param kind Issues of the metadata that tell the file is of another kind, checked before the
 * tensors (so that a checkpoint given to the ensemble reader is named as one).
 * @returns The metadata, the checked tensor table, the buffer and whether a seal was verified.
 * @throws {ConfigError} naming what is wrong: framing, JSON, seal, tensor table.
 */
export function readSafetensors(
  bytes: Uint8Array,
  context: string,
  dtypes: ReadonlyArray<string>,
  kind: (metadata: Readonly<Record<string, string>>) => ConfigIssue[] = () => [],
): SafetensorsFile {
  const fail = (field: string, message: string, got?: unknown): never => {
    throw new ConfigError(context, check.that(false, field, message, got));
  };
  if (!(bytes instanceof Uint8Array)) fail("bytes", "must be a Uint8Array", typeof bytes);
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
  if (low > MAX_HEADER_BYTES) {
    fail("header length", `must be at most ${MAX_HEADER_BYTES} (the safetensors limit)`, low);
  }
  const headerBytes = bytes.subarray(8, 8 + low);
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    fail("header", "must be UTF-8 JSON: the bytes are not valid UTF-8");
  }
  const scan = scanJson(headerBytes, {
    maxDepth: HEADER_DEPTH,
    find: ["__metadata__", HEADER_SEAL],
  });
  if (scan.problem !== null) {
    const what = scan.problem.startsWith("duplicate")
      ? "must not repeat a key (readers would silently keep only the last)"
      : scan.problem.startsWith("nesting")
      ? `must nest at most ${HEADER_DEPTH} levels deep`
      : "must be UTF-8 JSON";
    fail("header", `${what}: ${scan.problem}`);
  }
  if (headerBytes[0] !== 0x7b) {
    fail("header", "must be a JSON object whose first byte is '{' (the safetensors format)");
  }
  const entries = JSON.parse(text) as Record<string, unknown>;
  const metadata = parseMetadata(entries.__metadata__, context);
  const data = bytes.subarray(8 + low);
  const sealed = verifySeal(bytes.subarray(0, 8 + low), scan.found, metadata, data, context);
  orThrow(context, validation(kind(metadata), null));
  const tensors = parseTensors(entries, data.length, dtypes, context);
  return { metadata, tensors, data, sealed };
}

function parseMetadata(raw: unknown, context: string): Record<string, string> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(context, [{
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
  orThrow(context, validation(issues, null));
  return raw as Record<string, string>;
}

/** Checks the seal when there is one; returns whether there was. */
function verifySeal(
  head: Uint8Array,
  at: readonly [number, number] | null,
  metadata: Readonly<Record<string, string>>,
  data: Uint8Array,
  context: string,
): boolean {
  const header = metadata[HEADER_SEAL];
  const body = metadata[DATA_SEAL];
  if (header === undefined && body === undefined) return false;
  const corrupt = "the file was changed after it was written (a flipped bit, an edit, a partial " +
    "copy): use another copy";
  const issue = (key: string, message: string): never => {
    throw new ConfigError(context, [{ field: `__metadata__.${key}`, message }]);
  };
  if (header === undefined || body === undefined) {
    const [missing, present] = header === undefined
      ? [HEADER_SEAL, DATA_SEAL]
      : [DATA_SEAL, HEADER_SEAL];
    issue(missing, `is missing while ${present} is present: ${corrupt}`);
  }
  const hex = /^[0-9a-f]{64}$/;
  for (const [key, value] of [[HEADER_SEAL, header], [DATA_SEAL, body]] as const) {
    if (!hex.test(value!)) issue(key, `must be 64 lowercase hexadecimal digits: ${corrupt}`);
  }
  // The value's raw bytes are its 64 digits (no escapes), so blanking them is exact.
  if (at === null || at[1] - at[0] !== 64) issue(HEADER_SEAL, `must be a plain string: ${corrupt}`);
  const blanked = head.slice();
  blanked.fill(0x30, 8 + at![0], 8 + at![1]);
  if (sha256Hex(blanked) !== header) issue(HEADER_SEAL, `does not match the header: ${corrupt}`);
  if (sha256Hex(data) !== body) issue(DATA_SEAL, `does not match the tensor data: ${corrupt}`);
  return true;
}

/** Checks every tensor entry, then that they tile the byte buffer exactly. */
function parseTensors(
  entries: Record<string, unknown>,
  bufferLength: number,
  dtypes: ReadonlyArray<string>,
  context: string,
): Map<string, TensorEntry> {
  const issues: ConfigIssue[] = [];
  const tensors = new Map<string, TensorEntry>();
  const dtypeMessage = dtypes.length === 1
    ? `must be "${dtypes[0]}"`
    : `must be one of ${dtypes.map((d) => `"${d}"`).join(", ")}`;
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
    const dtype = e.dtype as string;
    issues.push(...check.that(dtypes.includes(dtype), `${name}.dtype`, dtypeMessage, e.dtype));
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
    const span = (shape as number[]).reduce((a, d) => a * d, 1) * DTYPE_BYTES[dtype];
    const dims = shape as number[];
    const shown = dims.length <= 8 ? JSON.stringify(dims) : `of ${dims.length} dimensions`;
    issues.push(
      ...check.that(
        end - begin === span,
        `${name}.data_offsets`,
        Number.isSafeInteger(span)
          ? `must span ${span} bytes for shape ${shown} of ${dtype}`
          : `must span the bytes of shape ${shown}, which is too large for any file`,
        offsets,
      ),
    );
    tensors.set(name, { dtype, shape: shape as number[], begin, end });
  }
  orThrow(context, validation(issues, null));
  orThrow(context, validation(tilingIssues(tensors, bufferLength), null));
  return tensors;
}

/** The format requires the tensors to cover the buffer exactly: no holes, no overlaps. */
function tilingIssues(tensors: Map<string, TensorEntry>, bufferLength: number): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
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
  return issues;
}
