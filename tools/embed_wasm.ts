/**
 * Writes `lib/backend/wasm/_wasm.ts`: every `wasm/*.wat` kernel assembled twice with the npm package
 * `wabt` (a development dependency, used only here and in the tests) and embedded as base64, so that
 * the WebAssembly backend loads in browsers and bundlers, which cannot import `.wat` files:
 *
 * - `relaxed`: the source as written, validated with the `relaxed_simd` feature (its
 *   `f32x4.relaxed_madd` may fuse the multiply-add);
 * - `simd`: the same source with every `(f32x4.relaxed_madd a b c)` rewritten to
 *   `(f32x4.add (f32x4.mul a b) c)`, validated with plain SIMD only, for runtimes without relaxed
 *   SIMD;
 * - `relaxedShared` and `simdShared`: the same two with the memory import declared `shared`
 *   (maximum 65536 pages, the `threads` feature), for sessions that split products across Workers
 *   over one shared `WebAssembly.Memory` (an unshared import refuses a shared memory).
 *
 * Run it with `deno task wasm` after editing a kernel; `tests/wasm_embed_test.ts` fails while the
 * generated module is stale.
 *
 * @module
 */
// An inline specifier: wabt is a development dependency of this tool and its test only, so it stays
// out of deno.json (whose imports every first run would install); tools/dev.lock pins it.
// deno-lint-ignore no-import-prefix
import wabtInit from "npm:wabt@1.0.39";

/** One kernel file: its basename (without `.wat`) and its WAT source. */
export interface WatFile {
  /** Basename without the extension, e.g. `"dense"`. */
  readonly name: string;
  /** The WAT source text. */
  readonly source: string;
}

/** Where the generated module goes, relative to the repository root. */
export const OUTPUT_PATH: string = "lib/backend/wasm/_wasm.ts";
/** Where the kernel files live, relative to the repository root. */
export const WAT_DIR: string = "wasm";

const MADD = "(f32x4.relaxed_madd";

/** The end (exclusive) of the balanced parenthesised expression that starts at `text[start]`. */
function groupEnd(text: string, start: number, file: string): number {
  if (text[start] !== "(") {
    throw new Error(
      `Cannot rewrite ${file}: the operands of f32x4.relaxed_madd must be folded expressions ` +
        `in parentheses: got "${text.slice(start, start + 20)}"`,
    );
  }
  let depth = 0;
  for (let k = start; k < text.length; k++) {
    if (text[k] === "(") depth++;
    else if (text[k] === ")" && --depth === 0) return k + 1;
  }
  throw new Error(`Cannot rewrite ${file}: unbalanced parentheses after offset ${start}`);
}

function skipSpace(text: string, k: number): number {
  while (k < text.length && /\s/.test(text[k])) k++;
  return k;
}

/**
 * The plain-SIMD form of a kernel: every folded `(f32x4.relaxed_madd a b c)` becomes
 * `(f32x4.add (f32x4.mul a b) c)` (also when nested).
 *
 * @param source WAT text.
 * @param file Its name, for error messages.
 * @returns The rewritten text.
 */
export function plainSimd(source: string, file = "kernel"): string {
  let text = source;
  for (let at = text.lastIndexOf(MADD); at >= 0; at = text.lastIndexOf(MADD, at - 1)) {
    // From the last occurrence backwards, so nested ones are already rewritten.
    const operands: string[] = [];
    let k = at + MADD.length;
    for (let n = 0; n < 3; n++) {
      k = skipSpace(text, k);
      const end = groupEnd(text, k, file);
      operands.push(text.slice(k, end));
      k = end;
    }
    k = skipSpace(text, k);
    if (text[k] !== ")") {
      throw new Error(`Cannot rewrite ${file}: f32x4.relaxed_madd takes three operands`);
    }
    const [a, b, c] = operands;
    text = `${text.slice(0, at)}(f32x4.add (f32x4.mul ${a} ${b}) ${c})${text.slice(k + 1)}`;
    if (at === 0) break;
  }
  return text;
}

/** The memory import every kernel declares, and its shared form. */
const MEMORY_IMPORT = '(import "env" "memory" (memory 1))';
const SHARED_IMPORT = '(import "env" "memory" (memory 1 65536 shared))';

/**
 * The shared-memory form of a kernel: its memory import declared `shared`.
 *
 * @param source WAT text holding `(import "env" "memory" (memory 1))` once.
 * @param file Its name, for error messages.
 * @returns The rewritten text.
 */
export function sharedMemory(source: string, file = "kernel"): string {
  if (source.split(MEMORY_IMPORT).length !== 2) {
    throw new Error(`Cannot embed ${file}: it must import its memory once as ${MEMORY_IMPORT}`);
  }
  return source.replace(MEMORY_IMPORT, SHARED_IMPORT);
}

/** The assembled variants of one kernel file. */
export interface WasmBinaries {
  /** Plain SIMD (the fallback). */
  readonly simd: Uint8Array<ArrayBuffer>;
  /** Relaxed SIMD. */
  readonly relaxed: Uint8Array<ArrayBuffer>;
  /** Plain SIMD over a shared memory. */
  readonly simdShared: Uint8Array<ArrayBuffer>;
  /** Relaxed SIMD over a shared memory. */
  readonly relaxedShared: Uint8Array<ArrayBuffer>;
}

/** The variants' names, in the order the generated module lists them. */
export const VARIANTS: ReadonlyArray<keyof WasmBinaries> = [
  "simd",
  "relaxed",
  "simdShared",
  "relaxedShared",
];

/**
 * Assembles both variants of every file with wabt (`parseWat`, then `validate` with the same
 * feature object, then `toBinary`).
 *
 * @param files The kernels.
 * @returns Their binaries, keyed by name.
 */
export async function assemble(
  files: ReadonlyArray<WatFile>,
): Promise<Record<string, WasmBinaries>> {
  const wabt = await wabtInit();
  const build = (
    name: string,
    text: string,
    relaxed: boolean,
    threads = false,
  ): Uint8Array<ArrayBuffer> => {
    const features = { simd: true, relaxed_simd: relaxed, threads };
    const module = wabt.parseWat(`${name}.wat`, text, features);
    try {
      // wabt 1.0.39 validates with default features unless they are passed again (its types
      // declare no parameter; shared/PLATFORM.md).
      (module as unknown as { validate(f: typeof features): void }).validate(features);
      return Uint8Array.from(module.toBinary({}).buffer);
    } finally {
      module.destroy();
    }
  };
  const out: Record<string, WasmBinaries> = {};
  for (const file of files) {
    const plain = plainSimd(file.source, file.name);
    out[file.name] = {
      simd: build(file.name, plain, false),
      relaxed: build(file.name, file.source, true),
      simdShared: build(file.name, sharedMemory(plain, file.name), false, true),
      relaxedShared: build(file.name, sharedMemory(file.source, file.name), true, true),
    };
  }
  return out;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let k = 0; k < bytes.length; k++) binary += String.fromCharCode(bytes[k]);
  return btoa(binary);
}

function chunks(text: string, width: number): string[] {
  const lines: string[] = [];
  for (let k = 0; k < text.length; k += width) lines.push(text.slice(k, k + width));
  return lines;
}

/**
 * Renders the generated module (already in `deno fmt` style).
 *
 * @param binaries Both variants of every kernel, keyed by name.
 * @returns The TypeScript source of `lib/backend/wasm/_wasm.ts`.
 */
export function renderWasmModule(binaries: Readonly<Record<string, WasmBinaries>>): string {
  const names = Object.keys(binaries).sort();
  for (const name of names) {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) {
      throw new Error(`Cannot embed kernel: its name must be snake_case: got "${name}"`);
    }
  }
  const literal = (bytes: Uint8Array) => [
    "[",
    ...chunks(base64(bytes), 80).map((line) => `      "${line}",`),
    '    ].join("")',
  ];
  const lines: string[] = [
    "// GENERATED by tools/embed_wasm.ts from wasm/*.wat. Do not edit: run `deno task wasm`.",
    "/**",
    " * Every WebAssembly kernel in `wasm/`, assembled in four variants (plain SIMD and relaxed SIMD",
    " * with fused multiply-adds, each over an unshared and a shared memory) and base64-encoded.",
    " * Browsers and bundlers cannot import `.wat` files, so the WebAssembly backend imports this",
    " * module only.",
    " *",
    " * @module",
    " */",
    "",
    "/** The name of a kernel module: the basename of its file in `wasm/`. */",
    "export type WasmName =",
    ...names.map((n, i) => `  | "${n}"${i === names.length - 1 ? ";" : ""}`),
    "",
    "/** The assembled variants of every kernel: plain or relaxed SIMD, unshared or shared memory. */",
    'export type WasmBinaryVariant = "simd" | "relaxed" | "simdShared" | "relaxedShared";',
    "",
    "/** Base64 of every variant of every kernel module. */",
    "export const WASM_BINARIES: Readonly<Record<WasmName, Record<WasmBinaryVariant, string>>> = {",
    ...names.flatMap((n) => [
      `  ${n}: {`,
      ...VARIANTS.map((v) => `    ${v}: ${literal(binaries[n][v]).join("\n")},`),
      "  },",
    ]),
    "};",
    "",
  ];
  return lines.join("\n");
}

/**
 * Reads every `.wat` file of a directory.
 *
 * @param dir The directory, e.g. `"wasm"`.
 * @returns The files found.
 */
export async function readWatFiles(dir: string): Promise<WatFile[]> {
  const files: WatFile[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".wat")) continue;
    files.push({
      name: entry.name.slice(0, -".wat".length),
      source: await Deno.readTextFile(`${dir}/${entry.name}`),
    });
  }
  return files;
}

if (import.meta.main) {
  const files = await readWatFiles(WAT_DIR);
  await Deno.writeTextFile(OUTPUT_PATH, renderWasmModule(await assemble(files)));
  console.log(`Wrote ${OUTPUT_PATH} (${files.length} kernels, four variants each)`);
}
