/**
 * `deno task demo`: builds the browser bundle when it is missing or older than its sources, then
 * serves the demo page (examples/browser/) and the bundle (dist/, under /dist/) on 127.0.0.1 only,
 * and prints the address.
 *
 * The page is cross-origin isolated (`crossOriginIsolated` is true): every response says
 * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`,
 * which a page needs for `SharedArrayBuffer`, and so for the WebAssembly backend's threads; the
 * Worker script (dist/snapfold_worker.js) carries the same headers, as an isolated page's Workers
 * must. Everything the page loads is its own origin's, which `require-corp` lets through (the
 * responses also say `Cross-Origin-Resource-Policy: same-origin`). `--no-isolation` serves without
 * them, to see the backend fall back to one thread.
 *
 * ```sh
 * deno task demo              # http://127.0.0.1:8000/ (or a free port when 8000 is taken)
 * deno task demo --port 9000
 * deno task demo --no-isolation  # no SharedArrayBuffer: WebAssembly on one thread
 * ```
 *
 * tests/browser_test.ts serves the page with {@linkcode serveDemo} on a free port.
 *
 * @module
 */
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildBrowser, BUNDLE, DEMO, DIST, WORKER_BUNDLE } from "./build_browser.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PAGE_DIR = join(ROOT, "examples", "browser");
const DIST_DIR = join(ROOT, DIST);

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".map": "application/json",
};

async function mtime(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return -1;
    throw error;
  }
}

async function newestSource(dir: string, newest = 0): Promise<number> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) newest = await newestSource(path, newest);
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, await mtime(path));
  }
  return newest;
}

/** Whether dist/ lacks a bundle or is older than a source it is built from. */
export async function bundleIsStale(): Promise<boolean> {
  const built = Math.min(
    ...await Promise.all([BUNDLE, DEMO, WORKER_BUNDLE].map((f) => mtime(join(DIST_DIR, f)))),
  );
  if (built < 0) return true;
  let sources = await newestSource(join(ROOT, "lib"));
  for (const file of ["mod.ts", "plots.ts", "deno.json"]) {
    sources = Math.max(sources, await mtime(join(ROOT, file)));
  }
  sources = await newestSource(PAGE_DIR, sources);
  sources = await newestSource(join(ROOT, "tools", "browser"), sources);
  sources = Math.max(sources, await mtime(join(ROOT, "tools", "build_browser.ts")));
  sources = Math.max(sources, await mtime(join(ROOT, "examples/_tutorial.ts")));
  return sources > built;
}

/**
 * Maps a URL path to a file: `/dist/...` from dist/, everything else from examples/browser/, and
 * `/favicon.ico` to the page's SVG icon.
 */
function fileFor(pathname: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (path.endsWith("/")) path += "index.html";
  // Browsers ask for /favicon.ico whatever the page links; the page's icon is an SVG.
  if (path === "/favicon.ico") path = "/favicon.svg";
  const [base, rest] = path.startsWith("/dist/")
    ? [DIST_DIR, path.slice("/dist/".length)]
    : [PAGE_DIR, path.slice(1)];
  const file = normalize(join(base, rest));
  // No escaping the two folders with `..` or encoded separators.
  return file.startsWith(base + sep) ? file : null;
}

/**
 * The headers that make a page cross-origin isolated (the HTML standard's `crossOriginIsolated`:
 * https://html.spec.whatwg.org/multipage/webappapis.html#concept-settings-object-cross-origin-isolated-capability),
 * and the resource policy that lets its own files load under `require-corp`.
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

async function handle(request: Request, isolated: boolean): Promise<Response> {
  const policy = isolated ? ISOLATION_HEADERS : {};
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("Method not allowed", { status: 405, headers: policy });
  }
  const file = fileFor(new URL(request.url).pathname);
  if (file === null) return new Response("Not found", { status: 404, headers: policy });
  try {
    const body = await Deno.readFile(file);
    return new Response(request.method === "HEAD" ? null : body, {
      headers: {
        "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
        ...policy,
      },
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.IsADirectory) {
      return new Response("Not found", { status: 404, headers: policy });
    }
    throw error;
  }
}

/** A running demo server. */
export interface DemoServer {
  /** The page's address, e.g. `http://127.0.0.1:8000/`. */
  readonly url: string;
  /** Stops serving. */
  close(): Promise<void>;
}

/**
 * Serves the demo on 127.0.0.1 (never another interface). Builds the bundle first when it is stale.
 *
 * @param options `port` (0: a free one), whether to build when stale (default true), and whether
 *   the page is cross-origin isolated ({@linkcode ISOLATION_HEADERS}; default true).
 */
export async function serveDemo(
  options: { port?: number; build?: boolean; isolated?: boolean } = {},
): Promise<DemoServer> {
  const { port = 0, build = true, isolated = true } = options;
  if (build && await bundleIsStale()) await buildBrowser();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    (request) => handle(request, isolated),
  );
  const { hostname, port: bound } = server.addr as Deno.NetAddr;
  return { url: `http://${hostname}:${bound}/`, close: () => server.shutdown() };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8000" },
      "no-isolation": { type: "boolean", default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    console.error(
      `Cannot serve the demo: --port must be an integer in [0, 65535]: got ${values.port}`,
    );
    Deno.exit(1);
  }
  const isolated = !values["no-isolation"];
  let server: DemoServer;
  try {
    server = await serveDemo({ port, isolated });
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    console.error(`Port ${port} is taken; serving on a free port instead.`);
    server = await serveDemo({ port: 0, build: false, isolated });
  }
  console.log(
    `snapfold demo: ${server.url} (${
      isolated ? "cross-origin isolated" : "not isolated: WebAssembly on one thread"
    }; Ctrl-C stops it)`,
  );
}
