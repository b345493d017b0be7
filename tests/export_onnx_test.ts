// The ONNX export checked by the real consumers: Debian's python3-onnx checker (full checks, strict
// shape inference) and onnxruntime-node 1.30 running the model, equal to snapfold's predictProba.
import assert from "node:assert/strict";
import { ConfigError, dense, ensemble, inputDim, mlp, outputDim } from "../mod.ts";
import { type OnnxLayout, toOnnx } from "../export.ts";
import { loadOnnxRuntime } from "../tools/onnxruntime.ts";
import {
  expected,
  exportCases,
  hasPython,
  IN_CI,
  maxDiff,
  rowsOf,
  runPython,
  snapshotsOf,
  warnMissing,
} from "./_export_cases.ts";

const ort = loadOnnxRuntime();
const HAS_ONNX = hasPython("onnx");
if (!ort) {
  warnMissing("ONNX Runtime tests", "onnxruntime-node", "see tools/onnxruntime.ts to install it");
}
if (!HAS_ONNX) warnMissing("ONNX checker tests", "python3-onnx", "apt-get install -y python3-onnx");
const LAYOUTS: OnnxLayout[] = ["branches", "stacked"];
const N = 37;

Deno.test({
  name: "onnx: ONNX Runtime reproduces predictProba and memberProba within 1e-5",
  ignore: !ort && !IN_CI,
  async fn(t) {
    assert.ok(ort, "onnxruntime-node is missing: see tools/onnxruntime.ts (.ci/run installs it)");
    for (const c of exportCases()) {
      for (const layout of LAYOUTS) {
        await t.step(`${c.name}, ${layout}`, async () => {
          const inDim = inputDim(c.model.spec);
          const x = rowsOf(N, inDim);
          const session = await ort.InferenceSession.create(
            toOnnx(c.model, { layout, memberOutputs: true }),
          );
          try {
            assert.deepEqual(session.inputNames, ["input"]);
            assert.deepEqual(session.outputNames, ["output", "member_outputs"]);
            const out = await session.run({ input: new ort.Tensor("float32", x, [N, inDim]) });
            const want = expected(c, x, N);
            assert.deepEqual(out.output.dims, [N, want.length / N]);
            assert.ok(maxDiff(out.output.data, want) < 1e-5, `${maxDiff(out.output.data, want)}`);
            const members = c.model.memberProbaSync(x, N); // M x [N, outDim]
            const m = members.length;
            const k = want.length / N;
            assert.deepEqual(out.member_outputs.dims, [N, m, k]);
            if (c.model.vote === "soft") {
              const ref = new Float32Array(N * m * k); // [N, M, outDim]
              members.forEach((p, i) => {
                for (let r = 0; r < N; r++) ref.set(p.subarray(r * k, r * k + k), (r * m + i) * k);
              });
              assert.ok(maxDiff(out.member_outputs.data, ref) < 1e-5);
            }
          } finally {
            await session.release();
          }
        });
      }
    }
  },
});

Deno.test({
  name: "onnx: the checker accepts every export and infers the documented shapes",
  ignore: !HAS_ONNX && !IN_CI,
  async fn(t) {
    assert.ok(HAS_ONNX, "python3-onnx is missing: apt-get install -y python3-onnx");
    const dir = await Deno.makeTempDir();
    try {
      for (const c of exportCases()) {
        for (const layout of LAYOUTS) {
          await t.step(`${c.name}, ${layout}`, async () => {
            const path = `${dir}/${layout}.onnx`;
            const schedule = { kind: "cosine", cycles: 10 };
            await Deno.writeFile(path, toOnnx(c.model, { layout, memberOutputs: true, schedule }));
            const got = await runPython("onnx_check.py", [path]) as Record<string, unknown>;
            const [inDim, outDim] = [inputDim(c.model.spec), outputDim(c.model.spec)];
            const m = c.model.members.length;
            assert.equal(got.irVersion, 8);
            assert.deepEqual(got.opsets, { "ai.onnx": 17 });
            assert.deepEqual(got.inputs, [{ name: "input", elemType: 1, dims: ["batch", inDim] }]);
            const outputs = [
              { name: "output", elemType: 1, dims: ["batch", outDim] },
              { name: "member_outputs", elemType: 1, dims: ["batch", m, outDim] },
            ];
            assert.deepEqual(got.outputs, outputs);
            assert.deepEqual(got.inferredOutputs, outputs);
            const meta = got.metadata as Record<string, string>;
            assert.equal(meta["snapfold.version"], "0.1.0");
            assert.equal(meta["snapfold.layout"], layout);
            assert.deepEqual(JSON.parse(meta["snapfold.schedule"]), schedule);
            const members = JSON.parse(meta["snapfold.members"]);
            assert.deepEqual(
              members.map((
                s: { epoch: number; step: number; lr: number },
              ) => [s.epoch, s.step, s.lr]),
              c.model.members.map((s) => [s.epoch, s.step, s.lr]),
            );
            assert.equal(
              meta["snapfold.temperature"],
              c.model.temperature === 1 ? undefined : String(c.model.temperature),
            );
          });
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("onnx: the export is deterministic and its graph size depends on the layout", () => {
  const [c] = exportCases().slice(1);
  assert.deepEqual(toOnnx(c.model), toOnnx(c.model));
  assert.notDeepEqual(toOnnx(c.model, { layout: "stacked" }), toOnnx(c.model));
});

Deno.test("onnx: bad ensembles and options are refused naming every field", () => {
  const spec = mlp({ layers: [2, 4, 3] });
  const model = ensemble(snapshotsOf(spec, 2));
  assert.throws(
    () => toOnnx(model, { layout: "fused" as never, extra: 1 } as never),
    (e: unknown) =>
      e instanceof ConfigError && /Cannot export ensemble to ONNX/.test(e.message) &&
      /layout/.test(e.message) && /extra/.test(e.message),
  );
  assert.throws(
    () => toOnnx({ ...model, weights: [1] }),
    /Cannot export ensemble to ONNX: ensemble.weights must be 2 non-negative finite numbers/,
  );
  assert.throws(() => toOnnx({ ...model, temperature: 0 }), /ensemble.temperature/);
  const other = snapshotsOf(mlp({ layers: [2, 5, 3] }), 1)[0];
  assert.throws(
    () => toOnnx({ ...model, members: [model.members[0], other] }),
    /ensemble.members\[1\].spec must equal the spec of members\[0\]/,
  );
  const nan = { ...model.members[0], params: model.members[0].params.map(() => NaN) };
  assert.throws(() => toOnnx({ ...model, members: [nan, nan] }), /params must be finite/);
  assert.throws(() => toOnnx({ ...model, members: [] }), /ensemble.members must be a non-empty/);
});

Deno.test("exports refuse an activation or head no format represents, naming the layer", async () => {
  const { toTfjsLayers, toTorchStateDict } = await import("../export.ts");
  const spec = {
    ...mlp({ layers: [2, 4, 3] }),
    layers: [dense(4), { kind: "gelu" }, dense(3)],
  } as never;
  const snapshot = { ...snapshotsOf(mlp({ layers: [2, 4, 3] }), 1)[0], spec };
  const pattern = /spec must be a model spec/;
  assert.throws(() => toOnnx({ members: [snapshot], weights: [1], vote: "soft" }), pattern);
  assert.throws(() => toTorchStateDict(snapshot), pattern);
  assert.throws(() => toTfjsLayers(snapshot), pattern);
  const head = { ...snapshot, spec: { ...mlp({ layers: [2, 3] }), head: "poisson" } as never };
  assert.throws(() => toTfjsLayers(head), /snapshot\.spec must be a model spec/);
});

Deno.test("onnx: io.ts loads the encoder deno.json names", async () => {
  const { WIRE_MODULE } = await import("../lib/export/_onnx_proto.ts");
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(config.imports["@bufbuild/protobuf/wire"], WIRE_MODULE);
});
