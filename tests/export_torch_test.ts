// The PyTorch export checked by Debian's python3-torch: load_state_dict(strict=True) into the
// matching nn.Sequential (or an nn.ModuleList of them) reproduces snapfold's predictions.
import assert from "node:assert/strict";
import { ConfigError, denseWidths, forward, inputDim, mlp, paramLayout } from "../mod.ts";
import { torchModules, toTorchStateDict } from "../export.ts";
import {
  exportCases,
  hasPython,
  IN_CI,
  maxDiff,
  rowsOf,
  runPython,
  warnMissing,
} from "./_export_cases.ts";

const HAS_TORCH = hasPython("torch");
if (!HAS_TORCH) warnMissing("PyTorch tests", "python3-torch", "apt-get install -y python3-torch");

Deno.test({
  name: "torch: load_state_dict(strict=True) reproduces snapfold's members within 1e-5",
  ignore: !HAS_TORCH && !IN_CI,
  async fn(t) {
    assert.ok(HAS_TORCH, "python3-torch is missing: apt-get install -y python3-torch");
    const dir = await Deno.makeTempDir();
    try {
      const n = 23;
      for (
        const c of exportCases().filter((c) => c.model.vote === "soft" && !c.model.temperature)
      ) {
        for (const whole of [false, true]) {
          await t.step(`${c.name}, ${whole ? "all members" : "one snapshot"}`, async () => {
            const spec = c.model.spec;
            const x = rowsOf(n, inputDim(spec));
            const file = `${dir}/model.safetensors`;
            const last = c.model.members.at(-1)!;
            await Deno.writeFile(file, toTorchStateDict(whole ? c.model : last));
            const rows = Array.from(
              { length: n },
              (_, r) => Array.from(x.subarray(r * inputDim(spec), (r + 1) * inputDim(spec))),
            );
            await Deno.writeTextFile(
              `${dir}/input.json`,
              JSON.stringify({
                x: rows,
                layers: denseWidths(spec),
                activation: paramLayout(spec).layers[0].activation,
                head: spec.head,
                members: whole ? c.model.members.length : null,
              }),
            );
            const got = await runPython("torch_load_check.py", [file, `${dir}/input.json`]) as {
              outputs: number[][][];
            };
            const want = whole ? c.model.memberProbaSync(x, n) : [forward(spec, last.params, x, n)];
            assert.equal(got.outputs.length, want.length);
            got.outputs.forEach((out, m) => assert.ok(maxDiff(out.flat(), want[m]) < 1e-5));
          });
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("torch: names and shapes follow nn.Sequential, [out, in] weights", () => {
  const spec = mlp({ layers: [3, 4, 2], activation: "sigmoid" });
  assert.deepEqual(torchModules(spec).map((m) => m.type), ["Linear", "Sigmoid", "Linear"]);
  const params = Float32Array.from({ length: 3 * 4 + 4 + 4 * 2 + 2 }, (_, i) => i);
  const bytes = toTorchStateDict({ index: 1, epoch: 0, step: 0, lr: 0, spec, params });
  const view = new DataView(bytes.buffer);
  const length = Number(view.getBigUint64(0, true));
  assert.equal(length % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  assert.deepEqual(Object.keys(header).sort(), [
    "0.bias",
    "0.weight",
    "2.bias",
    "2.weight",
    "__metadata__",
  ]);
  assert.deepEqual(header["0.weight"].shape, [4, 3]);
  const at = (name: string, i: number) =>
    view.getFloat32(8 + length + header[name].data_offsets[0] + 4 * i, true);
  // Keras kernel [in=3, out=4] row-major: W[i][o] = params[i * 4 + o]; torch weight[o][i].
  assert.equal(at("0.weight", 1 * 3 + 2), 2 * 4 + 1);
  assert.equal(at("2.bias", 1), 3 * 4 + 4 + 8 + 1);
  assert.equal(header.__metadata__.format, "pt");
});

Deno.test("torch: a bad snapshot is refused naming the field", () => {
  const spec = mlp({ layers: [3, 2] });
  assert.throws(
    () =>
      toTorchStateDict({ index: 1, epoch: 0, step: 0, lr: 0, spec, params: new Float32Array(2) }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /Cannot export to a PyTorch state dict: snapshot.params must be a Float32Array of 8/.test(
        e.message,
      ),
  );
});
