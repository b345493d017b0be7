/**
 * `deno task build:browser`: bundles the library's browser entries with esbuild into ES modules,
 * `dist/snapfold.js` (the core, `mod.ts`), `dist/snapfold_plots.js` (the charts, `plots.ts`) and
 * `dist/snapfold_export.js` (the exports, `export.ts`),
 * which share their common code in `dist/chunks/`, and the demo page's script
 * (`examples/browser/main.ts`) into
 * `dist/demo.js`, which imports the library by its package names (`@snapfold/snapfold`, `/plots`)
 * and so uses the bundle through the page's import map instead of a second copy of the library.
 *
 * esbuild runs without plugins, so it cannot read Deno's import map or `npm:` specifiers. Instead
 * the npm packages named in `deno.json` are installed into a temporary `node_modules` (by
 * `deno install`, from Deno's cache when it has them), esbuild resolves bare names there, and each
 * import-map key that points into a package (`fp-ts/Either` -> `fp-ts/lib/Either.js`) becomes an
 * esbuild alias.
 *
 * The build fails when the bundle mentions `Deno.` (the core must run in a browser; shared/STYLE.md)
 * or lacks the embedded WGSL kernels.
 *
 * ```sh
 * deno task build:browser   # writes dist/snapfold.js, dist/snapfold_plots.js, dist/demo.js
 * ```
 *
 * @module
 */
import * as esbuild from "esbuild";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the outputs go, relative to the repository root. */
export const DIST = "dist";
/** The library bundle's file name. */
export const BUNDLE = "snapfold.js";
/** File name of the charts' bundle (`plots.ts`), which shares chunks with the core's. */
export const PLOTS_BUNDLE: string = "snapfold_plots.js";
/**
 * The charting packages `renderSvg` loads by bare name on first use (plots.ts), bundled on their
 * own: a page maps the names to these files in its import map, as the demo does.
 */
export const RENDERER_BUNDLES: Readonly<Record<string, string>> = {
  "vega": "vega.js",
  "vega-lite": "vega_lite.js",
};
/** File name of the exports' bundle (`export.ts`: ONNX, TF.js, PyTorch formats). */
export const EXPORT_BUNDLE: string = "snapfold_export.js";
/** The demo script's file name. */
export const DEMO = "demo.js";
/** The names the demo imports the library by; the page's import map points them at the bundle. */
export const PACKAGE_NAMES: readonly string[] = ["@snapfold/snapfold", "@snapfold/snapfold/plots"];

/**
 * Import-map packages that are development tools and never part of a bundle, so they are not
 * installed for it (esbuild itself, the browser driver of tests/browser_test.ts, test and type-only
 * packages).
 */
export const NOT_BUNDLED: ReadonlySet<string> = new Set([
  "esbuild",
  "playwright-core",
  "fast-check",
  "@webgpu/types",
]);

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** What one npm entry of the import map says: the package, its version and a path inside it. */
interface NpmTarget {
  readonly name: string;
  readonly version: string;
  readonly subpath: string;
}

/** Parses `npm:name@version/sub/path` (scoped names included); `null` for anything else. */
export function parseNpmSpecifier(specifier: string): NpmTarget | null {
  const match = /^npm:(@[^/@]+\/[^/@]+|[^/@]+)@([^/]+)(\/.*)?$/.exec(specifier);
  if (match === null) return null;
  return { name: match[1], version: match[2], subpath: match[3] ?? "" };
}

/**
 * The import map's npm entries as what esbuild needs: the dependencies to install (all but
 * {@linkcode NOT_BUNDLED}) and the aliases from each import-map key to a path inside its package.
 */
export function npmPlan(imports: Readonly<Record<string, string>>): {
  dependencies: Record<string, string>;
  alias: Record<string, string>;
} {
  const dependencies: Record<string, string> = {};
  const alias: Record<string, string> = {};
  for (const [key, value] of Object.entries(imports)) {
    const target = parseNpmSpecifier(value);
    if (target === null || NOT_BUNDLED.has(target.name)) continue;
    dependencies[target.name] = target.version;
    const path = target.name + target.subpath;
    if (path !== key) alias[key] = path;
  }
  return { dependencies, alias };
}

/** Fails with every reason the bundle text is not fit for a browser. */
export function checkBundle(text: string): void {
  const problems: string[] = [];
  const deno = /\bDeno\.[A-Za-z_$]+/g;
  const found = new Set<string>();
  for (const m of text.matchAll(deno)) found.add(m[0]);
  if (found.size > 0) {
    problems.push(
      `it mentions ${[...found].sort().join(", ")}; ` +
        "keep Deno APIs out of everything mod.ts and plots.ts reach",
    );
  }
  if (!/@compute\s+@workgroup_size/.test(text)) {
    problems.push(
      "it has no WGSL kernels; regenerate lib/backend/webgpu/_shaders.ts (deno task shaders)",
    );
  }
  if (problems.length > 0) {
    throw new Error(`Cannot accept the browser bundle: ${problems.join("; ")}`);
  }
}

async function installDependencies(dir: string, dependencies: Record<string, string>) {
  await Deno.writeTextFile(
    join(dir, "package.json"),
    JSON.stringify({ name: "snapfold-browser-build", private: true, dependencies }, null, 2),
  );
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--quiet"],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `Cannot install the npm packages for the bundle: deno install failed: ${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
}

/**
 * Builds `dist/snapfold.js` and `dist/demo.js` and returns their paths and sizes.
 *
 * @param outDir The output folder (default `dist` in the repository).
 */
export async function buildBrowser(
  outDir: string = join(ROOT, DIST),
): Promise<{ path: string; bytes: number }[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const { dependencies, alias } = npmPlan(config.imports ?? {});
  const deps = await Deno.makeTempDir({ prefix: "snapfold-bundle-" });
  try {
    await installDependencies(deps, dependencies);
    const common: esbuild.BuildOptions = {
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      nodePaths: [join(deps, "node_modules")],
      alias,
      absWorkingDir: ROOT,
      legalComments: "eof",
      logLevel: "warning",
      write: false,
    };
    const version = config.version as string;
    const rendererEntries = await Promise.all(
      Object.entries(RENDERER_BUNDLES).map(async ([name, file]) => {
        const entry = join(deps, `${file.replace(/\.js$/, "")}_entry.js`);
        await Deno.writeTextFile(entry, `export * from ${JSON.stringify(name)};\n`);
        return { in: entry, out: file.replace(/\.js$/, "") };
      }),
    );
    const [library, demo, renderer] = await Promise.all([
      // Two entries sharing chunks: the core (mod.ts) never loads the charting library, and the
      // charts (plots.ts) reuse the core's modules instead of carrying a second copy of them.
      esbuild.build({
        ...common,
        entryPoints: [
          { in: join(ROOT, "mod.ts"), out: BUNDLE.replace(/\.js$/, "") },
          { in: join(ROOT, "plots.ts"), out: PLOTS_BUNDLE.replace(/\.js$/, "") },
          { in: join(ROOT, "export.ts"), out: EXPORT_BUNDLE.replace(/\.js$/, "") },
        ],
        outdir: outDir,
        splitting: true,
        chunkNames: "chunks/[name]-[hash]",
        external: Object.keys(RENDERER_BUNDLES),
        banner: {
          js: `// snapfold ${version}: browser bundle (tools/build_browser.ts)`,
        },
      }),
      esbuild.build({
        ...common,
        entryPoints: [join(ROOT, "examples/browser/main.ts")],
        outfile: join(outDir, DEMO),
        external: [...PACKAGE_NAMES],
        banner: { js: `// snapfold ${version}: the demo page's script (examples/browser/main.ts)` },
      }),
      // vega bundles whole; vega-lite imports vega by name, which the same import map resolves.
      Promise.all(rendererEntries.map((entry) =>
        esbuild.build({
          ...common,
          entryPoints: [entry],
          outdir: outDir,
          external: entry.out === "vega" ? [] : ["vega"],
        })
      )).then((builds) => ({ outputFiles: builds.flatMap((b) => b.outputFiles!) })),
    ]);
    const files = [...library.outputFiles!, ...demo.outputFiles!, ...renderer.outputFiles!];
    checkBundle(library.outputFiles!.map((f) => f.text).join("\n"));
    await Deno.mkdir(outDir, { recursive: true });
    for (const file of files) {
      await Deno.mkdir(dirname(file.path), { recursive: true });
      await Deno.writeFile(file.path, file.contents);
    }
    return files.map((f) => ({ path: f.path, bytes: f.contents.byteLength }));
  } finally {
    await esbuild.stop();
    await Deno.remove(deps, { recursive: true });
  }
}

if (import.meta.main) {
  try {
    for (const { path, bytes } of await buildBrowser()) {
      console.log(`Wrote ${relative(ROOT, path)} (${(bytes / 1024).toFixed(0)} KiB)`);
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
