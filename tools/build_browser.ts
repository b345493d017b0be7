/**
 * `deno task build:browser`: bundles the library for browsers with Deno's own `deno bundle`
 * (`--platform=browser --code-splitting --minify --sourcemap=linked`, packages from tools/dev.lock)
 * into ES modules in `dist/`: `snapfold.js` (the core, `mod.ts`), `snapfold_plots.js` (the charts,
 * `plots.ts`), `vega.js` and `vega_lite.js` (the charting packages, which `renderSvg` imports
 * lazily by name), the chunks they share, `snapfold_worker.js` (the WebAssembly backend's Worker
 * with its kernels, self-contained: a Worker sees no import map; a page passes its URL as the
 * backend's `workerUrl`), and `demo.js` (examples/browser/main.ts), which imports the library by
 * its package names through the page's import map instead of carrying a second copy. The entries
 * live in tools/browser/, so that every output has a plain name.
 *
 * The build fails when the library's bundle or the Worker mentions `Deno.` (the core must run in a
 * browser; shared/STYLE.md), when the library lacks the embedded WGSL kernels, or when the Worker
 * is missing or lacks the embedded WebAssembly kernels.
 *
 * ```sh
 * deno task build:browser   # writes dist/
 * ```
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the outputs go, relative to the repository root. */
export const DIST = "dist";
/** The library bundle's file name. */
export const BUNDLE = "snapfold.js";
/** File name of the charts' bundle (`plots.ts`), which shares chunks with the core's. */
export const PLOTS_BUNDLE: string = "snapfold_plots.js";
/** File name of the exports' bundle (`export.ts`: ONNX, TF.js, PyTorch formats). */
export const EXPORT_BUNDLE: string = "snapfold_export.js";
/** File name of the WebAssembly backend's Worker, which a page passes as `workerUrl`. */
export const WORKER_BUNDLE: string = "snapfold_worker.js";
/** The demo script's file name. */
export const DEMO = "demo.js";
/** The names the demo imports the library by; the page's import map points them at the bundle. */
export const PACKAGE_NAMES: readonly string[] = ["@snapfold/snapfold", "@snapfold/snapfold/plots"];
/**
 * The charting packages `renderSvg` imports lazily by name; the page's import map points them at
 * `dist/vega.js` and `dist/vega_lite.js`.
 */
export const CHART_PACKAGES: readonly string[] = ["vega", "vega-lite"];
/** The charting packages' bundle files (not checked for kernels). */
const CHART_FILES: readonly string[] = ["vega.js", "vega_lite.js"];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The `Deno.` members `text` mentions, sorted (prose about Deno does not count). */
function denoMembers(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/\bDeno\.[A-Za-z_$]+/g)) found.add(m[0]);
  return [...found].sort();
}

/**
 * Fails with every reason the bundle is not fit for a browser: the library's text (its entries and
 * chunks) and the Worker's (`undefined` when the build wrote none).
 *
 * @example
 * ```ts
 * import { checkBundle } from "./build_browser.ts";
 * import assert from "node:assert/strict";
 *
 * const library = "const k = `@compute @workgroup_size(64) fn main() {}`;";
 * const worker = 'const b = ["AGFzbQEAAAAB"];'; // base64 of a WebAssembly module's header
 * checkBundle(library, worker);
 * assert.throws(() => checkBundle(library, undefined), /no snapfold_worker\.js/);
 * ```
 *
 * @param text The library's bundle files, joined.
 * @param worker The Worker's bundle (`snapfold_worker.js`), or `undefined` when it is missing.
 */
export function checkBundle(text: string, worker: string | undefined): void {
  const problems: string[] = [];
  const found = denoMembers(text);
  if (found.length > 0) {
    problems.push(
      `it mentions ${found.join(", ")}; keep Deno APIs out of everything mod.ts and plots.ts reach`,
    );
  }
  if (!/@compute\s+@workgroup_size/.test(text)) {
    problems.push("it has no WGSL kernels; regenerate lib/backend/_shaders.ts (deno task shaders)");
  }
  if (worker === undefined) {
    problems.push(`it has no ${WORKER_BUNDLE} (tools/browser/snapfold_worker.ts)`);
  } else {
    const inWorker = denoMembers(worker);
    if (inWorker.length > 0) {
      problems.push(
        `its Worker mentions ${inWorker.join(", ")}; keep Deno APIs out of ` +
          "lib/backend/wasm/_worker.ts and what it imports",
      );
    }
    // "AGFzbQ" is base64 of "\0asm", the magic number every embedded module starts with.
    if (!worker.includes('"AGFzbQ')) {
      problems.push(
        "its Worker has no WebAssembly kernels; regenerate lib/backend/wasm/_wasm.ts (deno task wasm)",
      );
    }
  }
  if (problems.length > 0) {
    throw new Error(`Cannot accept the browser bundle: ${problems.join("; ")}`);
  }
}

/** The library's entries, bundled together so that they share chunks. */
const LIBRARY_ENTRIES: readonly string[] = [
  "tools/browser/snapfold.ts",
  "tools/browser/snapfold_plots.ts",
  "tools/browser/snapfold_export.ts",
  "tools/browser/vega.ts",
  "tools/browser/vega_lite.ts",
];

/**
 * The `deno bundle` command lines of the build: the library's entries with code splitting, then the
 * demo with the library and the charting packages left to the page's import map, then the Worker
 * on its own. Minified, with linked source maps; packages come from tools/dev.lock.
 *
 * @example
 * ```ts
 * import { bundleCommands } from "./build_browser.ts";
 * import assert from "node:assert/strict";
 *
 * const [library, demo, worker] = bundleCommands("/tmp/out");
 * assert.ok(library.includes("--code-splitting") && library.includes("--platform=browser"));
 * assert.ok(demo.includes("--external=@snapfold/snapfold") && demo.includes("--external=vega"));
 * assert.ok(!worker.includes("--code-splitting")); // self-contained: a Worker has no import map
 * ```
 *
 * @param outDir Where the files go.
 * @returns The arguments of the three `deno` runs.
 */
export function bundleCommands(outDir: string): [string[], string[], string[]] {
  const common = [
    "bundle",
    "--quiet",
    "--lock=tools/dev.lock",
    "--platform=browser",
    "--minify",
    "--sourcemap=linked",
    `--outdir=${outDir}`,
  ];
  return [
    [...common, "--code-splitting", ...LIBRARY_ENTRIES],
    [
      ...common,
      ...[...PACKAGE_NAMES, ...CHART_PACKAGES].map((name) => `--external=${name}`),
      "tools/browser/demo.ts",
    ],
    [...common, "tools/browser/snapfold_worker.ts"],
  ];
}

async function bundle(args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `Cannot bundle for the browser: deno bundle failed: ${
        new TextDecoder().decode(stderr).trim()
      }`,
    );
  }
}

async function filesIn(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) files.push(entry.name);
  }
  return files.sort();
}

/**
 * Builds dist/ (the library bundles, their chunks, the charting packages, the WebAssembly Worker
 * and the demo script, with source maps) and returns the paths and sizes of what it wrote. The
 * bundle is checked before anything replaces the previous one.
 *
 * @param outDir The output folder (default `dist` in the repository).
 */
export async function buildBrowser(
  outDir: string = join(ROOT, DIST),
): Promise<{ path: string; bytes: number }[]> {
  const staging = await Deno.makeTempDir({ prefix: "snapfold-bundle-" });
  try {
    const [library, demo, worker] = bundleCommands(staging);
    await bundle(library);
    const libraryFiles = (await filesIn(staging)).filter((f) => f.endsWith(".js"));
    await bundle(worker);
    checkBundle(
      (await Promise.all(
        libraryFiles.filter((f) => !CHART_FILES.includes(f)).map((f) =>
          Deno.readTextFile(join(staging, f))
        ),
      )).join("\n"),
      await Deno.readTextFile(join(staging, WORKER_BUNDLE)).catch((e) =>
        e instanceof Deno.errors.NotFound ? undefined : Promise.reject(e)
      ),
    );
    await bundle(demo);
    await Deno.remove(outDir, { recursive: true }).catch((e) =>
      e instanceof Deno.errors.NotFound ? undefined : Promise.reject(e)
    );
    await Deno.mkdir(outDir, { recursive: true });
    const written: { path: string; bytes: number }[] = [];
    for (const name of await filesIn(staging)) {
      const bytes = await Deno.readFile(join(staging, name));
      await Deno.writeFile(join(outDir, name), bytes);
      written.push({ path: join(outDir, name), bytes: bytes.byteLength });
    }
    return written;
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
}

if (import.meta.main) {
  try {
    for (const { path, bytes } of await buildBrowser()) {
      if (path.endsWith(".map")) continue;
      console.log(`Wrote ${relative(ROOT, path)} (${(bytes / 1024).toFixed(0)} KiB)`);
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
