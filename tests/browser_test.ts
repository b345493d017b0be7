/**
 * The library in a real browser: Debian's Chromium, headless with WebGPU (SwiftShader), loads the
 * demo page from a local server, trains the tutorial's model there, and must report the WebGPU
 * backend, 10 snapshots, and the accuracies that `deno run examples/blobs.ts --json --backend cpu`
 * reports for the same seed (within 0.01). It saves a screenshot to out/browser_demo.png (ignored by
 * git), or to the path in SNAPFOLD_SCREENSHOT: `SNAPFOLD_SCREENSHOT=docs/demo.png deno test -A
 * tests/browser_test.ts` refreshes the README's picture.
 *
 * Never downloads a browser. Without /usr/bin/chromium it fails when `CI` is set and is skipped
 * otherwise (`apt-get install -y chromium`; .ci/run installs it).
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { checkBundle, npmPlan, parseNpmSpecifier } from "../tools/build_browser.ts";
import { serveDemo } from "../tools/serve_demo.ts";
import type { DemoResult } from "../examples/browser/main.ts";

// Children resolve with the dev lock, so a test run never grows the root deno.lock.
const DEV_LOCK = `--lock=${new URL("../tools/dev.lock", import.meta.url).pathname}`;

const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SCREENSHOT = Deno.env.get("SNAPFOLD_SCREENSHOT") ??
  fileURLToPath(new URL("../out/browser_demo.png", import.meta.url));
/** Training 2000 steps on SwiftShader plus the page's first compile of every pipeline. */
const TRAINING_TIMEOUT_MS = 8 * 60_000;

const hasChromium = existsSync(CHROMIUM);
const inCi = Deno.env.get("CI") !== undefined;
if (!hasChromium && !inCi) {
  console.warn(
    `tests/browser_test.ts skipped: ${CHROMIUM} is missing; install it with ` +
      "`apt-get install -y chromium` to run the real-browser test (it fails instead when CI is set)",
  );
}

/** What the Deno example prints with `--json` (the fields this test compares). */
interface ExampleJson {
  backend: string;
  snapshots: { index: number; epoch: number; testAccuracy: number }[];
  ensemble: { members: number; testAccuracy: number }[];
  singleMean: number;
}

async function referenceRun(): Promise<ExampleJson> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", DEV_LOCK, "examples/blobs.ts", "--json", "--backend", "cpu", "--seed", "1"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assert.equal(code, 0, `examples/blobs.ts failed: ${text.decode(stderr)}`);
  return JSON.parse(text.decode(stdout));
}

Deno.test({
  name: "browser: the demo trains on WebGPU in headless Chromium and matches the CPU example",
  ignore: !hasChromium && !inCi,
  // playwright-core keeps pipes and timers of its own beyond the test's end.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.ok(
      hasChromium,
      `${CHROMIUM} is missing and CI is set: install it with \`apt-get install -y chromium\``,
    );
    // playwright-core probes /proc/sys (a WSL check) as it starts Chromium, which Deno allows only
    // with --allow-all; say so instead of failing deep inside it.
    const all = (["read", "write", "net", "env", "run", "sys", "ffi"] as const)
      .every((name) => Deno.permissions.querySync({ name }).state === "granted");
    assert.ok(
      all,
      "tests/browser_test.ts needs -A: playwright-core reads /proc/sys to start Chromium",
    );
    // Loaded here, not at the top: playwright-core reads the home folder (--allow-sys) as it loads,
    // and the other tests of this file must run without that permission.
    const { chromium } = await import("playwright-core");
    const reference = referenceRun();
    const server = await serveDemo({ port: 0 });
    const profile = await Deno.makeTempDir({ prefix: "snapfold-chromium-" });
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--enable-unsafe-webgpu",
        "--no-sandbox",
        "--headless",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
      viewport: { width: 1200, height: 900 },
    });
    const pageLog: string[] = [];
    try {
      const page = context.pages()[0] ?? await context.newPage();
      page.on("console", (m) => pageLog.push(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => pageLog.push(`pageerror: ${e.message}`));
      await page.goto(`${server.url}?epochs=500&cycles=10&lrMax=0.01&seed=1&backend=webgpu`);
      await page.waitForFunction(
        () => (globalThis as { __snapfoldResult?: unknown }).__snapfoldResult !== undefined,
        undefined,
        { timeout: TRAINING_TIMEOUT_MS, polling: 250 },
      );
      const result = await page.evaluate(
        () => (globalThis as unknown as { __snapfoldResult: DemoResult }).__snapfoldResult,
      );
      await Deno.mkdir(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      const log = `\npage log:\n${pageLog.join("\n")}`;
      if (result.status === "error") assert.fail(`The page failed: ${result.error}${log}`);

      // The page ran the WebGPU backend and says so.
      assert.equal(result.backend, "webgpu", `fallback: ${result.fallback}${log}`);
      assert.equal(typeof result.adapter, "string");
      const said = await page.locator("#backend").textContent();
      assert.match(said ?? "", /WebGPU on /);
      assert.ok(said!.includes(result.adapter!), said ?? "");

      // 10 snapshots at the ends of the 50-epoch cycles, and their charts drawn.
      assert.deepEqual(
        result.snapshots.map((s) => s.epoch),
        Array.from({ length: 10 }, (_, i) => 50 * i + 49),
      );
      for (const id of ["lr-chart", "blobs-chart", "size-chart"]) {
        assert.equal(await page.locator(`#${id} svg`).count(), 1, `#${id} has no chart`);
      }

      // The same accuracies as the Deno example on the CPU, for the same seed.
      const cpu = await reference;
      assert.equal(cpu.backend, "cpu");
      assert.equal(cpu.snapshots.length, 10);
      const near = (what: string, got: number, want: number) =>
        assert.ok(Math.abs(got - want) <= 0.01, `${what}: page ${got}, example ${want}`);
      near("ensemble of all 10", result.ensemble[9].testAccuracy, cpu.ensemble[9].testAccuracy);
      assert.equal(result.ensemble[9].members, 10);
      near("mean single snapshot", result.singleMean, cpu.singleMean);
      for (let i = 0; i < 10; i++) {
        near(`snapshot ${i + 1}`, result.snapshots[i].testAccuracy, cpu.snapshots[i].testAccuracy);
      }
    } finally {
      await context.close();
      await server.close();
      await Deno.remove(profile, { recursive: true });
    }
  },
});

Deno.test("build: npm specifiers of the import map become installs and esbuild aliases", () => {
  assert.deepEqual(parseNpmSpecifier("npm:fp-ts@2.16.11/lib/Either.js"), {
    name: "fp-ts",
    version: "2.16.11",
    subpath: "/lib/Either.js",
  });
  assert.deepEqual(parseNpmSpecifier("npm:@webgpu/types@0.1.74"), {
    name: "@webgpu/types",
    version: "0.1.74",
    subpath: "",
  });
  assert.equal(parseNpmSpecifier("./lib/random.ts"), null);
  assert.equal(parseNpmSpecifier("jsr:@std/path@1"), null);
  assert.deepEqual(
    npmPlan({
      "fp-ts/Either": "npm:fp-ts@2.16.11/lib/Either.js",
      "fp-ts/function": "npm:fp-ts@2.16.11/lib/function.js",
      "vega": "npm:vega@6.4.0",
      "esbuild": "npm:esbuild@0.28.2",
      "@webgpu/types": "npm:@webgpu/types@0.1.74",
      "local": "./local.ts",
    }),
    {
      dependencies: { "fp-ts": "2.16.11", vega: "6.4.0" },
      alias: { "fp-ts/Either": "fp-ts/lib/Either.js", "fp-ts/function": "fp-ts/lib/function.js" },
    },
  );
});

Deno.test("build: a bundle that reaches a Deno API or lacks the kernels is rejected", () => {
  const kernel = "const k = `@compute @workgroup_size(64) fn main() {}`;";
  checkBundle(kernel);
  assert.throws(
    () => checkBundle(`${kernel} const t = Deno.readTextFile("x"); Deno.env.get("A");`),
    /mentions Deno\.env, Deno\.readTextFile; keep Deno APIs out/,
  );
  // Prose about Deno is fine; only member accesses count.
  checkBundle(`${kernel} const hint = "run in Deno 2 or a browser";`);
  assert.throws(() => checkBundle("export const x = 1;"), /has no WGSL kernels/);
});
