import assert from "node:assert/strict";
import fc from "fast-check";
import { scanJson } from "../lib/strict_json.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const problem = (s: string, maxDepth?: number) => scanJson(bytes(s), { maxDepth }).problem;

Deno.test("scanJson accepts what JSON.parse accepts when keys are unique (property)", () => {
  // Valid JSON texts, and the same texts with one character changed or dropped: the scanner and
  // the engine must agree on every one (duplicate keys aside, which fast-check's json never makes).
  fc.assert(
    fc.property(
      fc.json({ depthSize: "small" }),
      fc.nat(),
      fc.constantFrom("", "x", "{", "}", "[", "]", ",", ":", '"', "\\", "0", "-", ".", "e", " "),
      (text, at, edit) => {
        for (
          const t of [
            text,
            text.slice(0, at % (text.length + 1)) + edit + text.slice(at % (text.length + 1) + 1),
          ]
        ) {
          let engine = true;
          try {
            JSON.parse(t);
          } catch {
            engine = false;
          }
          const scan = problem(t, 1000);
          if (scan?.startsWith("duplicate key")) continue;
          assert.equal(scan === null, engine, `${JSON.stringify(t)}: ${scan}`);
        }
      },
    ),
    { seed: 3, numRuns: 3000 },
  );
});

Deno.test("scanJson rejects duplicate keys at any depth, escapes decoded", () => {
  assert.match(problem('{"a":1,"a":2}')!, /^duplicate key "a" at byte 7$/);
  assert.match(problem('{"a":1,"\\u0061":2}')!, /^duplicate key "a"/);
  assert.match(problem('[{"x":{"k":1,"k":[]}}]')!, /^duplicate key "k"/);
  assert.equal(problem('{"a":{"a":1},"b":{"a":2}}'), null);
  assert.equal(problem('{"é":1,"e":2}'), null);
  assert.match(problem('{"é":1,"\\u00e9":2}')!, /^duplicate key "é"/);
});

Deno.test("scanJson bounds the depth without recursion", () => {
  assert.equal(problem("[[[1]]]", 3), null);
  assert.match(problem("[[[1]]]", 2)!, /^nesting deeper than 2 levels at byte 2$/);
  const deep = "[".repeat(1_000_000) + "]".repeat(1_000_000);
  assert.match(problem(deep)!, /^nesting deeper than 32 levels/);
  assert.equal(problem(deep, 2_000_000), null);
});

Deno.test("scanJson names the first problem and where it is", () => {
  assert.equal(problem('{"a":1} '), null);
  assert.match(problem('{"a":1} x')!, /^unexpected data after the value at byte 8$/);
  assert.match(problem('{"a":1')!, /^expected ',' or '}' at byte 6$/);
  assert.match(problem('{"a\u0001":1}')!, /^control character inside a string at byte 3$/);
  assert.match(problem('{"a":01}')!, /unexpected data|expected/);
  assert.match(problem("")!, /^unexpected end at byte 0$/);
  assert.match(problem('"\\x"')!, /^bad escape at byte 1$/);
});

Deno.test("scanJson locates a string member's bytes", () => {
  const text = '{"__metadata__":{"k":"é","seal":"abc"},"seal":"top"}';
  const b = bytes(text);
  const at = scanJson(b, { find: ["__metadata__", "seal"] }).found!;
  assert.equal(new TextDecoder().decode(b.subarray(at[0], at[1])), "abc");
  assert.deepEqual(scanJson(b, { find: ["seal"] }).found!.length, 2);
  assert.equal(scanJson(b, { find: ["__metadata__", "none"] }).found, null);
  // A non-string value is not reported.
  assert.equal(scanJson(bytes('{"m":{"k":1}}'), { find: ["m", "k"] }).found, null);
});
