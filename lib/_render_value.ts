/**
 * Renders any value for an error message, in bounded time and length, without ever throwing:
 * JSON-like for plain data (`[2,-1,3]`, `{"lr":-1}`, `"gelu"`), a description for the rest
 * (`Float32Array of length 4`, `a function`), `...` where the budget runs out. Deep nesting,
 * cycles, throwing getters, proxies, BigInt and symbols are all safe: hostile input in an option
 * or a file header must give the library's error, not a stack overflow inside the message.
 *
 * @module
 */

/** Characters of a rendered value (longer renderings end in `...`). */
export const MAX_RENDERED = 80;
/** Nesting levels rendered before `[...]` / `{...}`. */
const MAX_DEPTH = 6;

/**
 * Renders `value` in at most {@linkcode MAX_RENDERED} characters.
 *
 * @example
 * ```ts
 * import { renderValue } from "./_render_value.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(renderValue([2, -1, 3]), "[2,-1,3]");
 * let deep: unknown = 0;
 * for (let i = 0; i < 3000; i++) deep = [deep];
 * assert.ok(renderValue(deep).length <= 80);
 * ```
 *
 * @param value Anything.
 * @returns A short, single-line rendering.
 */
export function renderValue(value: unknown): string {
  try {
    const out = new Budget(MAX_RENDERED + 1);
    render(value, out, 0, []);
    const text = out.text();
    return text.length > MAX_RENDERED ? `${text.slice(0, MAX_RENDERED - 3)}...` : text;
  } catch {
    return "a value that cannot be shown";
  }
}

/** An output buffer that stops accepting text past its limit. */
class Budget {
  #parts: string[] = [];
  #length = 0;
  constructor(readonly limit: number) {}
  get full(): boolean {
    return this.#length >= this.limit;
  }
  push(text: string): void {
    if (this.full) return;
    const part = text.length > this.limit ? text.slice(0, this.limit) : text;
    this.#parts.push(part);
    this.#length += part.length;
  }
  text(): string {
    return this.#parts.join("");
  }
}

function render(value: unknown, out: Budget, depth: number, path: unknown[]): void {
  if (out.full) return;
  switch (typeof value) {
    case "number":
      return out.push(String(value)); // NaN, Infinity and -0 as JavaScript spells them
    case "bigint":
      return out.push(`${safeString(value)}n`);
    case "boolean":
      return out.push(String(value));
    case "undefined":
      return out.push("undefined");
    case "string":
      // Quote only the part that can be shown: a 100 MB string costs no more than a short one.
      return out.push(JSON.stringify(value.length > out.limit ? value.slice(0, out.limit) : value));
    case "symbol":
      return out.push(safeString(value));
    case "function":
      return out.push("a function");
  }
  if (value === null) return out.push("null");
  renderObject(value as object, out, depth, path);
}

function renderObject(value: object, out: Budget, depth: number, path: unknown[]): void {
  if (path.includes(value)) return out.push("[Circular]");
  if (ArrayBuffer.isView(value)) {
    const name = guard(() => value.constructor.name, "TypedArray");
    const length = guard(() => (value as unknown as ArrayLike<unknown>).length, NaN);
    return out.push(Number.isFinite(length) ? `${name} of length ${length}` : name);
  }
  const isArray = guard(() => Array.isArray(value), false);
  if (depth >= MAX_DEPTH) return out.push(isArray ? "[...]" : "{...}");
  path.push(value);
  if (isArray) {
    const items = value as ArrayLike<unknown>;
    const length = guard(() => items.length, 0);
    out.push("[");
    for (let i = 0; i < length && !out.full; i++) {
      if (i > 0) out.push(",");
      render(guard(() => items[i], "?"), out, depth + 1, path);
    }
    out.push("]");
  } else {
    const keys = guard(() => Object.keys(value), [] as string[]);
    out.push("{");
    for (let i = 0; i < keys.length && !out.full; i++) {
      if (i > 0) out.push(",");
      out.push(`${JSON.stringify(keys[i].slice(0, out.limit))}:`);
      render(guard(() => (value as Record<string, unknown>)[keys[i]], "?"), out, depth + 1, path);
    }
    out.push("}");
  }
  path.pop();
}

/** `f()`, or `fallback` when it throws (a getter, a proxy trap, a revoked proxy). */
function guard<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

function safeString(value: symbol | bigint): string {
  return guard(() => String(value), "a symbol");
}
