/**
 * A strict JSON scanner for file headers: the checks `JSON.parse` does not make.
 *
 * `JSON.parse` keeps the last of two equal keys (`{"lr": 1, "lr": 2}` reads as `{ lr: 2 }`), so a
 * header could say two things and be read as one. The safetensors reference rejects such headers,
 * and so does this scanner, which walks the text once without recursion (a 100 MB header of `[`
 * cannot overflow the stack), bounds the nesting depth, follows RFC 8259's grammar exactly and can
 * report where the value of one member sits in the bytes (so that a seal can be computed over the
 * header with that value blanked out).
 *
 * @module
 */

/** What {@linkcode scanJson} found. */
export interface JsonScan {
  /** The first problem, in words with its byte position, or null when the text is strict JSON. */
  readonly problem: string | null;
  /**
   * The bytes `[begin, end)` between the quotes of the string value at `options.find`, or null when
   * there is no such string value.
   */
  readonly found: readonly [number, number] | null;
}

/** Options of {@linkcode scanJson}. */
export interface ScanOptions {
  /** The deepest nesting of objects and arrays allowed (default 32). */
  readonly maxDepth?: number;
  /** A path of object keys from the top, e.g. `["__metadata__", "key"]`, whose string value to locate. */
  readonly find?: ReadonlyArray<string>;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]); // " \ / b f n r t

interface Frame {
  readonly keys: Set<string> | null; // null for an array
  key: string;
}

class Stop extends Error {}

/**
 * Checks that UTF-8 bytes hold exactly one strict JSON value: RFC 8259's grammar, no duplicate
 * keys in any object, nesting at most `maxDepth` deep, nothing but whitespace after the value.
 *
 * @example
 * ```ts
 * import { scanJson } from "./strict_json.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * assert.equal(scanJson(bytes('{"a": [1, 2], "b": "x"}')).problem, null);
 * assert.match(scanJson(bytes('{"a": 1, "a": 2}')).problem!, /duplicate key "a"/);
 * assert.deepEqual(scanJson(bytes('{"m": {"k": "v"}}'), { find: ["m", "k"] }).found, [13, 14]);
 * ```
 *
 * @param bytes The text, as UTF-8 (validate it first, e.g. with a fatal `TextDecoder`).
 * @param options The depth limit and the member to locate.
 * @returns The first problem (or null) and the located value.
 */
export function scanJson(bytes: Uint8Array, options: ScanOptions = {}): JsonScan {
  const maxDepth = options.maxDepth ?? 32;
  const find = options.find ?? [];
  let found: [number, number] | null = null;
  const n = bytes.length;
  const stack: Frame[] = [];
  try {
    let i = ws(bytes, 0);
    value: for (;;) {
      const c = bytes[i];
      if (c === 0x7b || c === 0x5b) { // { or [
        if (stack.length >= maxDepth) fail(`nesting deeper than ${maxDepth} levels`, i);
        stack.push({ keys: c === 0x7b ? new Set() : null, key: "" });
        i = ws(bytes, i + 1);
        if (bytes[i] !== (c === 0x7b ? 0x7d : 0x5d)) {
          if (c === 0x7b) i = key(bytes, i, stack[stack.length - 1]);
          continue value;
        }
        stack.pop();
        i++;
      } else if (c === QUOTE) {
        const end = string(bytes, i);
        if (find.length > 0 && isAt(stack, find)) found = [i + 1, end - 1];
        i = end;
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) i = number(bytes, i);
      else if (c === 0x74) i = literal(bytes, i, "true");
      else if (c === 0x66) i = literal(bytes, i, "false");
      else if (c === 0x6e) i = literal(bytes, i, "null");
      else fail(i < n ? "unexpected character" : "unexpected end", i);
      // After a value: a comma, a closing bracket, or the end.
      for (;;) {
        i = ws(bytes, i);
        if (stack.length === 0) break value;
        const frame = stack[stack.length - 1];
        if (bytes[i] === 0x2c) {
          i = ws(bytes, i + 1);
          if (frame.keys !== null) i = key(bytes, i, frame);
          continue value;
        }
        if (bytes[i] !== (frame.keys !== null ? 0x7d : 0x5d)) {
          fail(frame.keys !== null ? "expected ',' or '}'" : "expected ',' or ']'", i);
        }
        stack.pop();
        i++;
      }
    }
    if (i !== n) fail("unexpected data after the value", i);
  } catch (e) {
    if (e instanceof Stop) return { problem: e.message, found: null };
    throw e;
  }
  return { problem: null, found };
}

function fail(what: string, at: number): never {
  throw new Stop(`${what} at byte ${at}`);
}

/** Skips JSON whitespace (space, tab, line feed, carriage return). */
function ws(bytes: Uint8Array, at: number): number {
  while (at < bytes.length) {
    const c = bytes[at];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    at++;
  }
  return at;
}

/** The end (one past the closing quote) of the string token at `at`. */
function string(bytes: Uint8Array, at: number): number {
  if (bytes[at] !== QUOTE) fail("expected a string", at);
  for (let k = at + 1; k < bytes.length; k++) {
    const c = bytes[k];
    if (c === QUOTE) return k + 1;
    if (c < 0x20) fail("control character inside a string", k);
    if (c === BACKSLASH) {
      const e = bytes[k + 1];
      if (e === 0x75) { // \uXXXX
        for (let h = k + 2; h < k + 6; h++) if (!isHex(bytes[h])) fail("bad \\u escape", k);
        k += 5;
      } else if (ESCAPES.has(e)) k++;
      else fail("bad escape", k);
    }
  }
  return fail("unterminated string", at);
}

/** Reads an object key and its colon, recording it in `frame`; returns where the value starts. */
function key(bytes: Uint8Array, at: number, frame: Frame): number {
  const end = string(bytes, at);
  const name = decodeString(bytes, at, end);
  if (frame.keys!.has(name)) fail(`duplicate key ${JSON.stringify(name)}`, at);
  frame.keys!.add(name);
  frame.key = name;
  const colon = ws(bytes, end);
  if (bytes[colon] !== 0x3a) fail("expected ':'", colon);
  return ws(bytes, colon + 1);
}

function isAt(stack: ReadonlyArray<Frame>, path: ReadonlyArray<string>): boolean {
  if (stack.length !== path.length) return false;
  for (let d = 0; d < path.length; d++) {
    if (stack[d].keys === null || stack[d].key !== path[d]) return false;
  }
  return true;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined &&
    ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** The string a JSON string token `[at, end)` stands for (escapes decoded). */
function decodeString(bytes: Uint8Array, at: number, end: number): string {
  let plain = "";
  for (let k = at + 1; k < end - 1; k++) {
    const c = bytes[k];
    if (c === BACKSLASH || c >= 0x80) {
      // The token is valid JSON (checked by the caller): let the engine decode it.
      return JSON.parse(new TextDecoder().decode(bytes.subarray(at, end)));
    }
    plain += String.fromCharCode(c);
  }
  return plain;
}

function digits(bytes: Uint8Array, at: number): number {
  while (bytes[at] >= 0x30 && bytes[at] <= 0x39) at++;
  return at;
}

function number(bytes: Uint8Array, at: number): number {
  let k = at;
  if (bytes[k] === 0x2d) k++;
  if (bytes[k] === 0x30) k++;
  else if (bytes[k] >= 0x31 && bytes[k] <= 0x39) k = digits(bytes, k);
  else fail("bad number", at);
  if (bytes[k] === 0x2e) {
    const after = digits(bytes, k + 1);
    if (after === k + 1) fail("bad number", at);
    k = after;
  }
  if (bytes[k] === 0x65 || bytes[k] === 0x45) {
    k++;
    if (bytes[k] === 0x2b || bytes[k] === 0x2d) k++;
    const after = digits(bytes, k);
    if (after === k) fail("bad number", at);
    k = after;
  }
  return k;
}

function literal(bytes: Uint8Array, at: number, word: string): number {
  for (let k = 0; k < word.length; k++) {
    if (bytes[at + k] !== word.charCodeAt(k)) fail("unexpected character", at);
  }
  return at + word.length;
}
