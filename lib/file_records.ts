/**
 * Checks of the records that snapfold files carry beside their tensors (member numbers, the
 * schedule, JSON metadata), shared by encoding (bad data is refused before anything is written) and
 * decoding (a file that says something impossible is refused whole).
 *
 * Nothing here renders an untrusted value that could be deep: {@linkcode shallow} summarises objects
 * before they reach an error message.
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { check } from "./validation.ts";
import { scheduleFromSpec } from "./schedules/mod.ts";
import { scanJson } from "./strict_json.ts";

/** Deepest nesting accepted in a JSON metadata value or a schedule spec. */
export const RECORD_DEPTH = 16;

const MEMBER_KEYS = ["index", "epoch", "step", "lr", "replica"];

/**
 * A value fit for an error message: primitives as they are, anything else summarised, so that
 * rendering it never recurses into a hostile structure.
 *
 * @example
 * ```ts
 * import { shallow } from "./file_records.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(shallow(3), 3);
 * assert.equal(shallow([[[]]]), "an array of 1 item");
 * assert.equal(shallow(new Float32Array(2)), "a Float32Array of length 2");
 * ```
 *
 * @param value Anything.
 * @returns The value, or a short description of it.
 */
export function shallow(value: unknown): unknown {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return value;
  if (typeof value === "function") return "a function";
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as { length?: number }).length ?? value.byteLength;
    return `a ${value.constructor?.name ?? "typed array"} of length ${length}`;
  }
  if (Array.isArray(value)) {
    return `an array of ${value.length} item${value.length === 1 ? "" : "s"}`;
  }
  return "an object";
}

/**
 * Whether a value nests objects or arrays more than `limit` levels deep (or contains a cycle),
 * found without recursion; typed arrays count as leaves. Such a value is summarised with
 * {@linkcode shallow} before any validator may render it.
 *
 * @example
 * ```ts
 * import { nestsDeeper } from "./file_records.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(nestsDeeper({ layers: [2, 3] }, 2), false);
 * assert.equal(nestsDeeper([[[1]]], 2), true);
 * ```
 *
 * @param value Anything.
 * @param limit The deepest nesting allowed.
 * @returns Whether the value is deeper than that.
 */
export function nestsDeeper(value: unknown, limit: number): boolean {
  const container = (v: unknown): v is object =>
    v !== null && typeof v === "object" && !ArrayBuffer.isView(v);
  if (!container(value)) return false;
  // Depth-first with an explicit stack; `height` memoises finished objects so shared ones cost once.
  const height = new Map<object, number>();
  const onPath = new Set<object>();
  const stack: Array<{ node: object; children: unknown[]; next: number; best: number }> = [];
  const enter = (node: object): boolean => {
    if (onPath.has(node) || stack.length >= limit) return false;
    onPath.add(node);
    stack.push({ node, children: Object.values(node), next: 0, best: 0 });
    return true;
  };
  if (!enter(value)) return true;
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next < top.children.length) {
      const child = top.children[top.next++];
      if (!container(child)) continue;
      const known = height.get(child);
      if (known !== undefined) top.best = Math.max(top.best, known);
      else if (!enter(child)) return true;
      continue;
    }
    stack.pop();
    onPath.delete(top.node);
    const h = top.best + 1;
    if (stack.length + h > limit) return true;
    height.set(top.node, h);
    if (stack.length > 0) {
      const parent = stack[stack.length - 1];
      parent.best = Math.max(parent.best, h);
    }
  }
  return false;
}

/**
 * The issues of one member's record `{ index, epoch, step, lr, replica? }`: a 1-based index,
 * 0-based epoch and step, a finite non-negative lr, a non-negative replica when set.
 *
 * @example
 * ```ts
 * import { memberIssues } from "./file_records.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(memberIssues({ index: 1, epoch: 0, step: 3, lr: 0.1 }, "m"), []);
 * assert.deepEqual(memberIssues({ index: 0, epoch: 0.5, step: 3, lr: -1 }, "m").map((i) => i.field), [
 *   "m.index",
 *   "m.epoch",
 *   "m.lr",
 * ]);
 * ```
 *
 * @param member The record (a snapshot or its JSON form).
 * @param field Where it sits, for the messages.
 * @param strictKeys Whether keys beyond the five are an error (in files: yes).
 * @returns Every issue found.
 */
export function memberIssues(member: unknown, field: string, strictKeys = false): ConfigIssue[] {
  if (member === null || typeof member !== "object" || Array.isArray(member)) {
    return [{
      field,
      message: "must be an object { index, epoch, step, lr }",
      got: shallow(member),
    }];
  }
  const r = member as Record<string, unknown>;
  const issues = [
    ...check.positiveInt(`${field}.index`, shallow(r.index)),
    ...check.nonNegativeInt(`${field}.epoch`, shallow(r.epoch)),
    ...check.nonNegativeInt(`${field}.step`, shallow(r.step)),
    ...check.nonNegative(`${field}.lr`, shallow(r.lr)),
  ];
  if (r.replica !== undefined) {
    issues.push(...check.nonNegativeInt(`${field}.replica`, shallow(r.replica)));
  }
  if (strictKeys) issues.push(...check.knownKeys(member, MEMBER_KEYS, field));
  return issues;
}

/**
 * The issues of a schedule spec: JSON of bounded depth that `scheduleFromSpec` rebuilds (so its
 * constructor's validation applies).
 *
 * @example
 * ```ts
 * import { scheduleIssues } from "./file_records.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(scheduleIssues({ name: "constant", options: { lr: 0.1 } }, "schedule"), []);
 * assert.equal(scheduleIssues({ name: "constant", options: { lr: -1 } }, "schedule").length, 1);
 * ```
 *
 * @param spec The spec.
 * @param field Where it sits, for the messages.
 * @returns Every issue found.
 */
export function scheduleIssues(spec: unknown, field: string): ConfigIssue[] {
  const shape = spec !== null && typeof spec === "object" && !Array.isArray(spec) &&
    typeof (spec as { name?: unknown }).name === "string" &&
    (spec as { options?: unknown }).options !== null &&
    typeof (spec as { options?: unknown }).options === "object";
  if (!shape) {
    return [{ field, message: "must be a JSON object { name, options }", got: shallow(spec) }];
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(spec);
  } catch {
    // cyclic, a BigInt, or deeper than the engine's stack
  }
  if (
    text === undefined ||
    scanJson(new TextEncoder().encode(text), { maxDepth: RECORD_DEPTH }).problem !== null
  ) {
    return [{
      field,
      message: `must be JSON-serialisable, nested at most ${RECORD_DEPTH} levels deep`,
    }];
  }
  try {
    scheduleFromSpec(JSON.parse(text));
    return [];
  } catch (e) {
    if (e instanceof ConfigError) {
      return e.issues.map((i) => ({ ...i, field: `${field}.${i.field}` }));
    }
    return [{ field, message: "must describe a schedule that can be rebuilt" }];
  }
}

/**
 * The issues of JSON text in metadata: every value that starts with `[` or `{` must be strict JSON
 * (no duplicate keys, which `JSON.parse` would silently resolve) nested at most
 * {@linkcode RECORD_DEPTH} levels deep.
 *
 * @example
 * ```ts
 * import { jsonTextIssues } from "./file_records.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(jsonTextIssues({ "snapfold.members": '[{"index":1}]' }, "snapfold."), []);
 * assert.match(jsonTextIssues({ "snapfold.x": '{"a":1,"a":2}' }, "snapfold.")[0].message, /duplicate/);
 * ```
 *
 * @param metadata The metadata strings.
 * @param prefix Only keys with this prefix are checked (the user's own values are theirs).
 * @returns Every issue found.
 */
export function jsonTextIssues(
  metadata: Readonly<Record<string, string>>,
  prefix: string,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (!key.startsWith(prefix) || !(value.startsWith("[") || value.startsWith("{"))) continue;
    const { problem } = scanJson(new TextEncoder().encode(value), { maxDepth: RECORD_DEPTH });
    if (problem !== null) {
      const what = problem.startsWith("duplicate")
        ? "must be JSON without repeated keys"
        : problem.startsWith("nesting")
        ? `must be JSON nested at most ${RECORD_DEPTH} levels deep`
        : "must be JSON";
      issues.push({ field: `__metadata__.${key}`, message: `${what}: ${problem}` });
    }
  }
  return issues;
}
