/**
 * Checks the size rules of the style guide: no file under `lib/` over {@linkcode MAX_FILE_LINES}
 * lines and no function over {@linkcode MAX_FUNCTION_LINES} lines, except the generated modules
 * and the hand-unrolled CPU kernels ({@linkcode EXEMPT}). `tests/sizes_test.ts` runs it.
 *
 * Functions are found without a TypeScript parser: comments, strings and template literals are
 * blanked out, then every `function`, arrow function with a block body, and method or accessor
 * header is matched to its closing brace. A function's size is its lines from the header to that
 * brace, nested functions included.
 *
 * ```sh
 * deno run --allow-read tools/check_sizes.ts   # prints the offenders; exits 1 when there are any
 * ```
 *
 * @module
 */

/** Most lines a file under `lib/` may have. */
export const MAX_FILE_LINES = 400;
/** Most lines a function may have. */
export const MAX_FUNCTION_LINES = 80;

/** Files exempt from both rules: generated modules and the unrolled kernels (measured, kept as is). */
export const EXEMPT: ReadonlyArray<string> = [
  "lib/backend/webgpu/_shaders.ts",
  "lib/backend/wasm/_wasm.ts",
  "lib/ops/_dense_blocked.ts",
  "lib/ops/_dense_sparse.ts",
];

/**
 * Files (or folders) exempt while another part of the redesign splits them; empty since
 * lib/schedules.ts and lib/ensemble.ts were split. Add an entry only with a TODO naming its split.
 */
export const PENDING_SPLITS: ReadonlyArray<string> = [];

/** One function found in a source. */
export interface FunctionSpan {
  /** The function's name, or `"(arrow)"`. */
  readonly name: string;
  /** 1-based line of its header. */
  readonly line: number;
  /** Lines from the header to the closing brace. */
  readonly lines: number;
}

/** The source with comments, strings and template literal text replaced by spaces (newlines kept). */
export function blankOut(source: string): string {
  const out = source.split("");
  const blank = (i: number) => {
    if (out[i] !== "\n") out[i] = " ";
  };
  const templates: number[] = []; // brace depth at which each open `${` returns to its template
  let depth = 0;
  let i = 0;
  const n = source.length;
  const skipTemplate = () => {
    // inside a template literal's text, up to its end or the next `${`
    while (i < n) {
      const c = source[i];
      if (c === "\\") {
        blank(i);
        blank(i + 1);
        i += 2;
      } else if (c === "`") {
        i++;
        return;
      } else if (c === "$" && source[i + 1] === "{") {
        templates.push(depth);
        depth++;
        i += 2;
        return;
      } else {
        blank(i);
        i++;
      }
    }
  };
  while (i < n) {
    const c = source[i];
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < n && source[i] !== "\n") blank(i++);
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      while (i < stop) blank(i++);
    } else if (c === '"' || c === "'") {
      i++;
      while (i < n && source[i] !== c && source[i] !== "\n") {
        if (source[i] === "\\") blank(i++);
        blank(i++);
      }
      i++;
    } else if (c === "`") {
      i++;
      skipTemplate();
    } else if (c === "{") {
      depth++;
      i++;
    } else if (c === "}") {
      depth--;
      i++;
      if (templates.length > 0 && templates[templates.length - 1] === depth) {
        templates.pop();
        skipTemplate();
      }
    } else {
      i++;
    }
  }
  return out.join("");
}

const KEYWORDS = new Set([
  "if",
  "for",
  "while",
  "switch",
  "catch",
  "return",
  "function",
  "new",
  "await",
  "typeof",
  "with",
  "do",
  "else",
]);

/** The index of the bracket that closes the one at `open`, or -1. */
function closing(code: string, open: number): number {
  const pairs: Record<string, string> = { "(": ")", "{": "}", "[": "]" };
  const want = pairs[code[open]];
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    const c = code[i];
    if (c === code[open]) depth++;
    else if (c === want && --depth === 0) return i;
  }
  return -1;
}

/** After a parameter list closing at `close`: the body's `{`, skipping a return type; else -1. */
function bodyAfter(code: string, close: number): number {
  let i = close + 1;
  while (i < code.length && /\s/.test(code[i])) i++;
  if (code[i] === "{") return i;
  if (code[i] !== ":") return -1;
  // A return type: find the next `{` that is not a type literal (one right after `:`, `|`, `&`,
  // `<`, `,` or `(`), skipping type literals whole.
  for (; i < code.length; i++) {
    const c = code[i];
    if (c === ";" || c === "=" && code[i + 1] !== ">") return -1;
    if (c === "(" || c === "[") {
      i = closing(code, i);
      if (i < 0) return -1;
    } else if (c === "{") {
      let k = i - 1;
      while (k > 0 && /\s/.test(code[k])) k--;
      if (":|&<,(".includes(code[k])) {
        i = closing(code, i);
        if (i < 0) return -1;
      } else return i;
    }
  }
  return -1;
}

/**
 * Every function of a TypeScript source, with its length in lines.
 *
 * @example
 * ```ts
 * import { scanFunctions } from "./check_sizes.ts";
 * import assert from "node:assert/strict";
 *
 * const spans = scanFunctions("function f() {\n  return 1;\n}\nconst g = () => {\n};\n");
 * assert.deepEqual(spans.map((s) => [s.name, s.lines]), [["f", 3], ["(arrow)", 2]]);
 * ```
 *
 * @param source The source text.
 * @returns The functions in order of their headers.
 */
export function scanFunctions(source: string): FunctionSpan[] {
  const code = blankOut(source);
  const lineAt = (index: number) => code.slice(0, index).split("\n").length;
  const spans: Array<FunctionSpan & { at: number }> = [];
  const add = (name: string, at: number, open: number) => {
    const end = closing(code, open);
    if (end < 0) return;
    if (spans.some((s) => s.at === at)) return;
    spans.push({ name, at, line: lineAt(at), lines: lineAt(end) - lineAt(at) + 1 });
  };
  for (const m of code.matchAll(/\bfunction\b\s*\*?\s*([A-Za-z_$][\w$]*)?\s*(<[^>]*>)?\s*\(/g)) {
    const paren = m.index! + m[0].length - 1;
    const close = closing(code, paren);
    const body = close < 0 ? -1 : bodyAfter(code, close);
    if (body >= 0) add(m[1] ?? "(anonymous)", m.index!, body);
  }
  for (const m of code.matchAll(/=>\s*\{/g)) {
    add("(arrow)", m.index!, m.index! + m[0].length - 1);
  }
  const method =
    /^[ \t]*(?:(?:public|private|protected|static|async|get|set|override)\s+)*\*?(#?[A-Za-z_$][\w$]*)\s*(<[^>\n]*>)?\s*\(/gm;
  for (const m of code.matchAll(method)) {
    if (KEYWORDS.has(m[1])) continue;
    const paren = m.index! + m[0].length - 1;
    const close = closing(code, paren);
    const body = close < 0 ? -1 : bodyAfter(code, close);
    if (body >= 0) add(m[1], m.index! + m[0].search(/\S/), body);
  }
  return spans.sort((a, b) => a.at - b.at).map(({ name, line, lines }) => ({ name, line, lines }));
}

/** One breach of the size rules. */
export interface SizeIssue {
  /** The file, relative to the repository root. */
  readonly path: string;
  /** What is too long. */
  readonly message: string;
}

/**
 * The breaches of the size rules among `files` (path and text), skipping the exempt ones.
 *
 * @param files The files, paths relative to the repository root.
 * @returns The issues.
 */
export function sizeIssues(
  files: ReadonlyArray<{ readonly path: string; readonly text: string }>,
): SizeIssue[] {
  const issues: SizeIssue[] = [];
  for (const { path, text } of files) {
    if (EXEMPT.includes(path) || PENDING_SPLITS.some((p) => path === p || path.startsWith(p))) {
      continue;
    }
    const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    if (lines > MAX_FILE_LINES) {
      issues.push({ path, message: `${lines} lines (at most ${MAX_FILE_LINES})` });
    }
    for (const f of scanFunctions(text)) {
      if (f.lines > MAX_FUNCTION_LINES) {
        issues.push({
          path,
          message: `${f.name} at line ${f.line}: ${f.lines} lines (at most ${MAX_FUNCTION_LINES})`,
        });
      }
    }
  }
  return issues;
}

/**
 * Reads every `.ts` file under a directory, paths relative to the current directory.
 *
 * @param dir The directory, e.g. `"lib"`.
 * @returns The files.
 */
export async function readTree(dir: string): Promise<Array<{ path: string; text: string }>> {
  const files: Array<{ path: string; text: string }> = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await readTree(path));
    else if (entry.isFile && entry.name.endsWith(".ts")) {
      files.push({ path, text: await Deno.readTextFile(path) });
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

if (import.meta.main) {
  const issues = sizeIssues(await readTree("lib"));
  for (const issue of issues) console.log(`${issue.path}: ${issue.message}`);
  if (issues.length > 0) Deno.exit(1);
  console.log("lib/: every file and function within the size rules");
}
