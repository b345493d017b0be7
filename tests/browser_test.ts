/**
 * The library in a real browser: Debian's Chromium, headless with WebGPU (SwiftShader), loads the
 * demo page from a local server, trains the tutorial's model there, and must report the WebGPU
 * backend, 10 snapshots, and the accuracies that `deno run examples/blobs.ts --json --backend cpu`
 * reports for the same seed (within 0.01). The same run on the WebAssembly backend must match too,
 * on one thread and on two (Workers from dist/snapfold_worker.js over a shared memory, on the
 * cross-origin-isolated page the server makes), and a page served without isolation must run one
 * thread and say why. It looks at the page as a user does, at 1280 and 420 px
 * wide: nothing overflows horizontally, the results are a table, every chart has its legend, the
 * form says what is wrong in its own words, and `auto` picks what the command line's picks. It saves
 * screenshots to out/browser_demo.png and out/browser_demo_420.png (ignored by git), or the first to
 * the path in SNAPFOLD_SCREENSHOT: `SNAPFOLD_SCREENSHOT=docs/demo.png deno test -A
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
import { checkBundle } from "../tools/build_browser.ts";
import { serveDemo } from "../tools/serve_demo.ts";
import type { DemoResult } from "../examples/browser/main.ts";

// Children resolve with the dev lock, so a test run never grows the root deno.lock.
const DEV_LOCK = `--lock=${new URL("../tools/dev.lock", import.meta.url).pathname}`;

const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SCREENSHOT = Deno.env.get("SNAPFOLD_SCREENSHOT") ??
  fileURLToPath(new URL("../out/browser_demo.png", import.meta.url));
const NARROW_SCREENSHOT = fileURLToPath(new URL("../out/browser_demo_420.png", import.meta.url));
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

type Page = import("playwright-core").Page;
type Done = DemoResult & { status: "done" };

/** Fails unless the page's accuracies are the Deno example's, within 0.01 (float32 on a device). */
function matchesReference(result: Done, cpu: ExampleJson, label: string): void {
  assert.equal(cpu.backend, "cpu");
  assert.equal(cpu.snapshots.length, 10);
  assert.deepEqual(
    result.snapshots.map((s) => s.epoch),
    Array.from({ length: 10 }, (_, i) => 50 * i + 49),
    `${label}: 10 snapshots at the ends of the 50-epoch cycles`,
  );
  const near = (what: string, got: number, want: number) =>
    assert.ok(Math.abs(got - want) <= 0.01, `${label}, ${what}: page ${got}, example ${want}`);
  near("ensemble of all 10", result.ensemble[9].testAccuracy, cpu.ensemble[9].testAccuracy);
  assert.equal(result.ensemble[9].members, 10);
  near("mean single snapshot", result.singleMean, cpu.singleMean);
  for (let i = 0; i < 10; i++) {
    near(`snapshot ${i + 1}`, result.snapshots[i].testAccuracy, cpu.snapshots[i].testAccuracy);
  }
}

/** Loads the page at `url` and waits for a finished run, failing with the page's log otherwise. */
async function finishedRun(page: Page, url: string, log: string[]): Promise<Done> {
  log.length = 0;
  await page.goto(url);
  const result = await waitForResult(page);
  if (result.status === "error") {
    assert.fail(`The page at ${url} failed: ${result.error}\npage log:\n${log.join("\n")}`);
  }
  return result;
}

/**
 * The WebAssembly backend in the page: one thread, then two on the cross-origin-isolated page
 * (both matching the example), then two asked for on a page without isolation, which runs one and
 * says why.
 */
async function wasmRuns(
  page: Page,
  urls: { isolated: string; plain: string },
  cpu: ExampleJson,
  log: string[],
): Promise<void> {
  const query = "?epochs=500&cycles=10&lrMax=0.01&seed=1&backend=wasm";
  for (const threads of [1, 2]) {
    const result = await finishedRun(page, `${urls.isolated}${query}&threads=${threads}`, log);
    const label = `wasm, ${threads} thread(s)`;
    assert.equal(result.backend, "wasm", `${label}: fallback ${result.fallback}`);
    assert.equal(result.crossOriginIsolated, true);
    assert.equal(result.fallback, null);
    assert.equal(result.threads, threads);
    assert.match(
      result.adapter ?? "",
      threads === 1
        ? /^WebAssembly (relaxed )?SIMD, 1 thread$/
        : /^WebAssembly (relaxed )?SIMD, 2 threads \(Workers over a shared memory\)$/,
    );
    assert.equal(await page.locator("#backend").textContent(), `Backend: ${result.adapter}`);
    matchesReference(result, cpu, label);
  }
  const plain = await finishedRun(
    page,
    `${urls.plain}?epochs=20&cycles=2&backend=wasm&threads=2`,
    log,
  );
  assert.equal(plain.backend, "wasm");
  assert.equal(plain.crossOriginIsolated, false);
  assert.equal(plain.threads, 1);
  assert.match(plain.adapter ?? "", /SIMD, 1 thread \(no SharedArrayBuffer here\)$/);
  assert.equal(plain.fallback, "2 threads asked for: this page is not cross-origin isolated");
  assert.equal(plain.snapshots.length, 2);
  assert.match(await page.locator("#backend").textContent() ?? "", /not cross-origin isolated/);
  // The Threads field speaks the form's words, and is off for the backends that have no threads.
  await page.fill("input[name=threads]", "0");
  await page.click("#run");
  assert.deepEqual(await page.locator("#form-errors li").allTextContents(), [
    "Threads must be a whole number from 1 to 16.",
  ]);
  assert.equal(await page.locator("input[name=threads]").isDisabled(), false);
  await page.selectOption("select[name=backend]", "cpu");
  assert.equal(await page.locator("input[name=threads]").isDisabled(), true);
}

async function waitForResult(page: Page): Promise<DemoResult> {
  await page.waitForFunction(
    () => (globalThis as { __snapfoldResult?: unknown }).__snapfoldResult !== undefined,
    undefined,
    { timeout: TRAINING_TIMEOUT_MS, polling: 250 },
  );
  return await page.evaluate(
    () => (globalThis as unknown as { __snapfoldResult: DemoResult }).__snapfoldResult,
  );
}

/** The results as a table, the charts with their legends and axes, a status line in words. */
async function looksFinished(page: Page, result: DemoResult & { status: "done" }): Promise<void> {
  const rows = await page.locator("#table tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent))
  );
  assert.equal(rows.length, 10);
  assert.deepEqual(rows[9].slice(0, 2), ["10", "1 (50)"]);
  assert.equal(rows[9][3], result.ensemble[9].testAccuracy.toFixed(3));
  const status = await page.locator("#status").textContent() ?? "";
  assert.doesNotMatch(status, /readback/);
  assert.match(status, /^Trained 500 epochs in .*: 10 snapshots\./);
  const text = (id: string) => page.locator(`#${id} svg`).evaluate((svg) => svg.textContent ?? "");
  const axes = (id: string) =>
    page.locator(`#${id} svg .role-axis-title`).evaluateAll((ts) => ts.map((t) => t.textContent));
  // The lr and the learning curves both count epochs; every chart says what its marks are.
  assert.deepEqual(await axes("lr-chart"), ["epoch", "learning rate"]);
  assert.deepEqual(await axes("curve-chart"), ["epoch", "loss", "epoch", "accuracy"]);
  assert.match(await text("lr-chart"), /snapshot/);
  for (const word of ["train", "test", "snapshot"]) {
    assert.match(await text("curve-chart"), new RegExp(word));
  }
  assert.equal(result.testCurvePoints, 100);
  assert.match(await text("blobs-chart"), /class/);
  assert.deepEqual((await axes("size-chart"))[0], "ensemble members (the last n snapshots)");
  const sizeTicks = await page.locator("#size-chart svg").evaluate((svg) => {
    const axis = [...svg.querySelectorAll(".role-axis")].find((a) =>
      a.querySelector(".role-axis-title")?.textContent?.startsWith("ensemble members")
    );
    return [...(axis?.querySelectorAll(".role-axis-label text") ?? [])].map((t) => t.textContent);
  });
  assert.equal(sizeTicks[0], "1");
  assert.match(await text("size-chart"), /ensemble of the last n/);
  // The lr chart sits above the learning curves at the same width: their epoch axes line up.
  const box = (id: string) => page.locator(`#${id} svg`).boundingBox();
  const [lr, curves] = [await box("lr-chart"), await box("curve-chart")];
  assert.ok(lr !== null && curves !== null);
  assert.equal(lr.x, curves.x);
  assert.equal(lr.width, curves.width);
  assert.ok(lr.y < curves.y);
}

/** Empty and contradictory fields are refused before training, in the form's words. */
async function formSpeaksItsWords(page: Page): Promise<void> {
  for (const name of ["epochs", "cycles", "lrMax", "seed"]) {
    assert.equal(await page.locator(`input[name=${name}]`).getAttribute("required"), "");
  }
  await page.fill("input[name=epochs]", "");
  await page.fill("input[name=lrMax]", "0");
  await page.click("#run");
  const problems = await page.locator("#form-errors li").allTextContents();
  assert.deepEqual(problems, [
    "Epochs is required.",
    "lr max must be a number above 0 and at most 10, such as 0.01.",
  ]);
  assert.equal(await page.locator("input[name=epochs]").getAttribute("aria-invalid"), "true");
  await page.fill("input[name=epochs]", "5");
  await page.fill("input[name=lrMax]", "0.01");
  await page.click("#run");
  assert.deepEqual(await page.locator("#form-errors li").allTextContents(), [
    "Cycles must not be more than Epochs (5): each cycle needs at least one epoch.",
  ]);
}

Deno.test({
  name:
    "browser: the demo trains on WebGPU and on WebAssembly (1 and 2 threads) in headless Chromium and matches the CPU example",
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
    const plainServer = await serveDemo({ port: 0, build: false, isolated: false });
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
      viewport: { width: 1280, height: 900 },
    });
    const pageLog: string[] = [];
    try {
      const page = context.pages()[0] ?? await context.newPage();
      page.on("console", (m) => pageLog.push(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => pageLog.push(`pageerror: ${e.message}`));
      const result = await finishedRun(
        page,
        `${server.url}?epochs=500&cycles=10&lrMax=0.01&seed=1&backend=webgpu`,
        pageLog,
      );

      // The page ran the WebGPU backend and says so, on a cross-origin-isolated page.
      assert.equal(result.backend, "webgpu", `fallback: ${result.fallback}`);
      assert.equal(typeof result.adapter, "string");
      assert.equal(result.crossOriginIsolated, true);
      assert.equal(result.threads, null);
      const said = await page.locator("#backend").textContent();
      assert.match(said ?? "", /WebGPU on /);
      assert.ok(said!.includes(result.adapter!), said ?? "");

      // 10 snapshots at the ends of the 50-epoch cycles with the same accuracies as the Deno
      // example on the CPU, for the same seed, and their charts drawn.
      const cpu = await reference;
      matchesReference(result, cpu, "webgpu");
      for (const id of ["lr-chart", "curve-chart", "blobs-chart", "size-chart"]) {
        assert.equal(await page.locator(`#${id} svg`).count(), 1, `#${id} has no chart`);
      }

      await looksFinished(page, result);
      await Deno.mkdir(dirname(SCREENSHOT), { recursive: true });
      for (const [width, path] of [[1280, SCREENSHOT], [420, NARROW_SCREENSHOT]] as const) {
        await page.setViewportSize({ width, height: 900 });
        const overflow = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          inner: globalThis.innerWidth,
        }));
        assert.ok(
          overflow.scroll <= overflow.inner,
          `at ${width} px the page is ${overflow.scroll} px wide`,
        );
        await page.screenshot({ path, fullPage: true });
      }
      await formSpeaksItsWords(page);
      const favicon = await page.request.get(`${server.url}favicon.ico`);
      assert.equal(favicon.status(), 200);
      assert.match(favicon.headers()["content-type"], /^image\/svg\+xml/);

      // The page's default, auto, is the command line's: on this software adapter, the CPU.
      await page.goto(`${server.url}?epochs=20&cycles=2`);
      const auto = await waitForResult(page);
      assert.equal(auto.status, "done", auto.status === "error" ? auto.error : "");
      if (auto.status === "done") {
        assert.equal(auto.backend, "cpu");
        // A small model (153 parameters): the CPU, without probing the adapter, as on the CLI.
        assert.match(
          auto.fallback ?? "",
          /small model \(153 parameters\) trains faster on the CPU/,
        );
      }

      await wasmRuns(page, { isolated: server.url, plain: plainServer.url }, cpu, pageLog);
    } finally {
      await context.close();
      await server.close();
      await plainServer.close();
      await Deno.remove(profile, { recursive: true });
    }
  },
});

Deno.test("build: a bundle that reaches a Deno API or lacks the kernels or the Worker is rejected", () => {
  const kernel = "const k = `@compute @workgroup_size(64) fn main() {}`;";
  const worker = 'var s = { dense: { simd: ["AGFzbQEAAAAB"] } };';
  checkBundle(kernel, worker);
  assert.throws(
    () => checkBundle(`${kernel} const t = Deno.readTextFile("x"); Deno.env.get("A");`, worker),
    /mentions Deno\.env, Deno\.readTextFile; keep Deno APIs out/,
  );
  // Prose about Deno is fine; only member accesses count.
  checkBundle(`${kernel} const hint = "run in Deno 2 or a browser";`, worker);
  assert.throws(() => checkBundle("export const x = 1;", worker), /has no WGSL kernels/);
  // The Worker must be there, browser-safe, and carry the WebAssembly kernels.
  assert.throws(() => checkBundle(kernel, undefined), /has no snapfold_worker\.js/);
  assert.throws(
    () => checkBundle(kernel, `${worker} Deno.exit(1);`),
    /its Worker mentions Deno\.exit; keep Deno APIs out of lib\/backend\/wasm\/_worker\.ts/,
  );
  assert.throws(() => checkBundle(kernel, "onmessage = () => {};"), /Worker has no WebAssembly/);
});
