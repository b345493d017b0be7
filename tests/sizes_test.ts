/**
 * The size rules of the style guide hold for lib/ (tools/check_sizes.ts), and the check itself
 * finds long files and long functions of every shape (so that it can fail).
 */
import assert from "node:assert/strict";
import {
  MAX_FILE_LINES,
  MAX_FUNCTION_LINES,
  readTree,
  scanFunctions,
  sizeIssues,
} from "../tools/check_sizes.ts";

Deno.test("sizes: no file under lib/ over 400 lines, no function over 80, outside the exempt ones", async () => {
  const issues = sizeIssues(await readTree("lib"));
  assert.deepEqual(issues, [], issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
});

Deno.test("sizes: the check finds long files and long functions, methods and arrows", () => {
  const body = (n: number) => Array.from({ length: n }, (_, k) => `  x += ${k};`).join("\n");
  const source = [
    `export function long(a: { b: number }): { c: number } {\n${body(MAX_FUNCTION_LINES)}\n}`,
    `function short() {\n${body(3)}\n}`,
    `class C {\n  async method(x: number): Promise<void> {\n${body(MAX_FUNCTION_LINES)}\n  }\n}`,
    `const arrow = (y: number) => {\n${body(MAX_FUNCTION_LINES)}\n};`,
    // Braces and keywords inside strings, templates and comments do not count.
    'const s = "function f() {"; // function g() {\nconst t = `${"{"} }`;',
  ].join("\n");
  const long = scanFunctions(source).filter((f) => f.lines > MAX_FUNCTION_LINES);
  assert.deepEqual(long.map((f) => f.name), ["long", "method", "(arrow)"]);
  assert.equal(scanFunctions(source).find((f) => f.name === "short")!.lines, 5);
  const issues = sizeIssues([
    { path: "lib/x.ts", text: "let a;\n".repeat(MAX_FILE_LINES + 1) },
    { path: "lib/y.ts", text: source },
    { path: "lib/ops/_dense_blocked.ts", text: source }, // exempt
  ]);
  assert.deepEqual(issues.map((i) => i.path), ["lib/x.ts", "lib/y.ts", "lib/y.ts", "lib/y.ts"]);
});
