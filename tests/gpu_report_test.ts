/**
 * `deno task gpu:report`: on a software adapter (or none) it says so, writes nothing and exits 0;
 * its Markdown names the adapter and every timing; and the tolerance scale it sets is read by
 * `assertClose`.
 */
import assert from "node:assert/strict";
import { describeAdapter } from "../mod.ts";
import { GPU_TESTS, gpuReportMarkdown } from "../tools/gpu_report.ts";

const found = await describeAdapter();

Deno.test({
  name: "gpu report: a software adapter is named, nothing is written, the exit is 0",
  ignore: found !== null && !found.software, // on a hardware adapter it makes the real report
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--lock=tools/dev.lock", "-A", "tools/gpu_report.ts", "--out", `${dir}/G.md`],
        env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      if (found === null) assert.match(text, /No WebGPU adapter here: no GPU report made/);
      else {
        assert.ok(text.includes(`"${found.description}" is a software adapter`), text);
        assert.match(text, /bench\/GPU\.md not written/);
      }
      await assert.rejects(Deno.stat(`${dir}/G.md`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("gpu report: the Markdown names the adapter, the tests' outcome and every timing", () => {
  const md = gpuReportMarkdown({
    adapter: "Stub GPU 9000",
    date: "2026-12-01",
    runtime: "Deno 2.9.6",
    runs: 3,
    tests: { passed: false, summary: "FAILED | 3 passed | 1 failed" },
    timings: [
      {
        workload: "tutorial",
        path: "webgpu fused",
        medianMs: 41.25,
        minMs: 40,
        fusedSteps: 2000,
        testAccuracy: 0.818,
      },
      { workload: "tutorial", path: "cpu", medianMs: 20, minMs: 19.5, testAccuracy: 0.818 },
    ],
  });
  assert.match(md, /^# GPU report/);
  assert.match(md, /- Adapter: Stub GPU 9000/);
  assert.match(md, /\*\*FAILED\*\* \(FAILED \| 3 passed \| 1 failed\)/);
  for (const file of GPU_TESTS) assert.ok(md.includes(file));
  assert.match(md, /\| tutorial \| webgpu fused \| 41\.3 ms \| 40\.0 ms \| 2000 \| 0\.818 \|/);
  assert.match(md, /\| tutorial \| cpu \| 20\.0 ms \| 19\.5 ms \| - \| 0\.818 \|/);
  assert.match(
    gpuReportMarkdown({ adapter: "A", date: "d", runtime: "r", runs: 1, timings: [] }),
    /not run \(`--skip-tests`\)/,
  );
});

Deno.test("gpu report: SNAPFOLD_TOLERANCE_SCALE widens assertClose, and only when set", async () => {
  const probe = `import { assertClose } from "./tests/_backend_cases.ts";
    assertClose([1.0001], [1], { rel: 1e-5, abs: 0, label: "probe" });`;
  const run = (scale?: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", "--lock=tools/dev.lock", probe],
      env: scale === undefined ? {} : { SNAPFOLD_TOLERANCE_SCALE: scale },
      stdout: "null",
      stderr: "piped",
    }).output();
  const strict = await run();
  assert.equal(strict.success, false, "1e-4 apart fails rel 1e-5");
  assert.match(new TextDecoder().decode(strict.stderr), /probe: element 0/);
  assert.equal((await run("20")).success, true, "x20 allows 2e-4");
  assert.equal((await run("0.5")).success, false, "a scale below 1 is refused");
});
