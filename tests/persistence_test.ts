import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfigError, SnapfoldError } from "../lib/errors.ts";
import {
  type Activation,
  dense,
  denseWidths,
  dropout,
  forward,
  type Head,
  initParams,
  mlp,
  type MlpSpec,
  relu,
  sequential,
  tanh,
} from "../lib/model/mod.ts";
import {
  type DecodedEnsemble,
  decodeEnsemble,
  encodeEnsemble,
  UNSEALED_WARNING,
} from "../lib/persistence.ts";
import { DATA_SEAL, HEADER_SEAL } from "../lib/safetensors.ts";
import { sha256Hex } from "../lib/sha256.ts";
import { join, joinUnsealed, split } from "./_file_edit.ts";
import type { Snapshot } from "../lib/snapshot.ts";
import { VERSION } from "../lib/version.ts";

function snapshots(spec: MlpSpec, m: number, seed = 1): Snapshot[] {
  return Array.from({ length: m }, (_, i) => ({
    index: i + 1,
    epoch: 50 * (i + 1) - 1,
    step: 200 * (i + 1) - 1,
    lr: 1e-5 * (i + 1),
    spec,
    params: initParams(spec, { seed: seed + i }),
  }));
}

/** Applies `edit` to the header of a valid file and expects decoding to fail matching `pattern`. */
function rejects(
  bytes: Uint8Array,
  // deno-lint-ignore no-explicit-any
  edit: (h: Record<string, any>) => void,
  pattern: RegExp,
  data?: Uint8Array,
): void {
  const { header, data: original } = split(bytes);
  edit(header);
  assert.throws(() => decodeEnsemble(join(header, data ?? original)), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, /^Cannot decode ensemble file: /);
    assert.match(e.message, pattern);
    return true;
  });
}

const spec = mlp({ layers: [2, 5, 3], activation: "tanh" });
const file = encodeEnsemble({
  snapshots: snapshots(spec, 3),
  schedule: { name: "cosineAnnealing", options: { lrMax: 0.01, totalSteps: 600, cycles: 3 } },
  metadata: { dataset: "blobs", note: "ünïcode ok" },
});

Deno.test("VERSION equals deno.json's version", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(VERSION, config.version);
});

Deno.test("the file follows the safetensors layout: u64 header length, padded JSON, stacked F32", () => {
  const view = new DataView(file.buffer);
  const n = view.getUint32(0, true);
  assert.equal(view.getUint32(4, true), 0);
  assert.equal(n % 8, 0);
  const text = new TextDecoder().decode(file.subarray(8, 8 + n));
  assert.equal(text.trimEnd().length <= n, true);
  assert.match(text, /^\{.*\} *$/);
  const { header } = split(file);
  const meta = header.__metadata__ as Record<string, string>;
  assert.equal(meta["snapfold.version"], VERSION);
  assert.equal(meta["snapfold.layers"], "[2,5,3]");
  assert.equal(meta["snapfold.activation"], "tanh");
  assert.equal(meta["snapfold.head"], "softmax");
  assert.deepEqual(JSON.parse(meta["snapfold.members"])[2], {
    index: 3,
    epoch: 149,
    step: 599,
    lr: 1e-5 * 3,
  });
  assert.deepEqual(JSON.parse(meta["snapfold.schedule"]).options.cycles, 3);
  assert.deepEqual(header["layers.0.weight"], {
    dtype: "F32",
    shape: [3, 2, 5],
    data_offsets: [0, 3 * 10 * 4],
  });
  assert.deepEqual((header["layers.1.bias"] as { shape: number[] }).shape, [3, 3]);
  // Member 1's weight of layer 1 at row 4, column 2 sits at [1, 4, 2] of the stacked tensor.
  const members = snapshots(spec, 3);
  const w1 = header["layers.1.weight"] as { data_offsets: number[] };
  const at = 8 + n + w1.data_offsets[0] + (1 * 5 * 3 + 4 * 3 + 2) * 4;
  const weightOffset = 2 * 5 + 5;
  assert.equal(view.getFloat32(at, true), members[1].params[weightOffset + 4 * 3 + 2]);
});

Deno.test("decode(encode(x)) returns the members, schedule and metadata", () => {
  const back = decodeEnsemble(file);
  const members = snapshots(spec, 3);
  assert.equal(back.version, VERSION);
  assert.deepEqual(back.warnings, []);
  assert.deepEqual(back.metadata, { dataset: "blobs", note: "ünïcode ok" });
  assert.deepEqual(back.schedule, {
    name: "cosineAnnealing",
    options: { lrMax: 0.01, totalSteps: 600, cycles: 3 },
  });
  assert.deepEqual(back.snapshots, members);
});

Deno.test("decode(encode(x)) round-trips any network and parameters (property)", () => {
  const activation = fc.constantFrom<Activation>("relu", "tanh", "sigmoid", "linear");
  const head = fc.constantFrom<Head>("softmax", "linear");
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 2, max: 4 }),
      activation,
      head,
      fc.integer({ min: 1, max: 4 }),
      fc.infiniteStream(fc.float()),
      fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
      (hidden, out, act, hd, m, stream, metadata) => {
        const s = mlp({ layers: [...hidden, out], activation: act, head: hd });
        const members = snapshots(s, m).map((snap) => ({
          ...snap,
          params: Float32Array.from(stream.take(snap.params.length)),
        }));
        const user = Object.fromEntries(
          Object.entries(metadata).filter(([k]) => !k.startsWith("snapfold.")),
        );
        const back = decodeEnsemble(encodeEnsemble({ snapshots: members, metadata: user }));
        assert.deepEqual(back.snapshots, members);
        assert.deepEqual(back.metadata, user);
        assert.equal(back.schedule, null);
        const nonFinite = members.some((x) => x.params.some((v) => !Number.isFinite(v)));
        assert.equal(back.warnings.length, nonFinite ? 1 : 0);
      },
    ),
    { seed: 7, numRuns: 150 },
  );
});

Deno.test("NaN parameters load, with a warning", () => {
  const members = snapshots(spec, 2);
  members[1].params[3] = NaN;
  members[0].params[0] = Infinity;
  const back = decodeEnsemble(encodeEnsemble({ snapshots: members }));
  assert.ok(Number.isNaN(back.snapshots[1].params[3]));
  assert.equal(back.snapshots[0].params[0], Infinity);
  assert.deepEqual(back.warnings, [
    "2 parameters are NaN or infinite: predictions of those members will be too",
  ]);
});

Deno.test("a file from another version loads with a warning", () => {
  const { header, data } = split(file);
  (header.__metadata__ as Record<string, string>)["snapfold.version"] = "9.0.0";
  const back = decodeEnsemble(join(header, data));
  assert.equal(back.version, "9.0.0");
  assert.match(back.warnings[0], /file written by snapfold 9\.0\.0, read by 0\.1\.0/);
  assert.deepEqual(back.snapshots[0].params, decodeEnsemble(file).snapshots[0].params);
});

Deno.test("truncated files are rejected whatever the cut", () => {
  for (const cut of [0, 3, 7, 8, 20, 300, file.length - 1]) {
    assert.throws(() => decodeEnsemble(file.subarray(0, cut)), ConfigError, `cut at ${cut}`);
  }
  assert.throws(() => decodeEnsemble(file.subarray(0, 5)), /file must hold at least the 8-byte/);
  assert.throws(
    () => decodeEnsemble(file.subarray(0, 100)),
    /header length must fit in the file \(92 bytes after it\)/,
  );
  const bigLength = file.slice();
  new DataView(bigLength.buffer).setUint32(4, 1, true);
  assert.throws(() => decodeEnsemble(bigLength), /header length must fit.*: got 42949/);
});

Deno.test("corrupt headers are rejected with the field at fault", () => {
  const { header: h0, data } = split(file);
  const bad = join(h0, data);
  const n = new DataView(bad.buffer).getUint32(0, true);
  bad[8 + 3] = 0xff; // invalid UTF-8 inside the JSON
  assert.throws(() => decodeEnsemble(bad), /header must be UTF-8 JSON/);
  const notJson = join({}, new Uint8Array());
  notJson[8] = "[".charCodeAt(0);
  assert.throws(() => decodeEnsemble(notJson), /header must be UTF-8 JSON/);
  assert.throws(() => decodeEnsemble(join([1], new Uint8Array())), /header must be a JSON object/);
  assert.ok(n > 0);

  rejects(file, (h) => delete h.__metadata__, /__metadata__ must be a map of strings/);
  rejects(file, (h) => h.__metadata__.x = 1, /__metadata__\.x must be a string: got 1/);
  rejects(
    file,
    (h) => h["layers.0.bias"].dtype = "F64",
    /layers\.0\.bias\.dtype must be "F32": got "F64"/,
  );
  rejects(
    file,
    (h) => h["layers.1.bias"].data_offsets = [0, data.length + 4],
    /layers\.1\.bias\.data_offsets must be \[begin, end\] with 0 <= begin <= end <= \d+/,
  );
  rejects(
    file,
    (h) => h["layers.0.weight"].shape = [3, 2, "5"],
    /layers\.0\.weight\.shape must be/,
  );
  rejects(
    file,
    (h) => h["layers.0.weight"].shape = [3, 5, 2],
    /layers\.0\.weight\.shape must be \[3,2,5\]/,
  );
  rejects(
    file,
    (h) => h["layers.0.weight"].shape = [3, 2, 4],
    /must span 96 bytes for shape \[3,2,4\]/,
  );
  rejects(file, (h) => {
    // The last tensor moved back 4 bytes: an overlap and an uncovered tail.
    const [begin, end] = h["layers.1.bias"].data_offsets;
    h["layers.1.bias"].data_offsets = [begin - 4, end - 4];
  }, /layers\.1\.bias\.data_offsets must start at byte \d+: overlaps.*data must be covered/);
  rejects(
    file,
    () => {},
    /data must be covered by the tensors exactly/,
    new Uint8Array([...data, 0, 0, 0, 0]),
  );
  rejects(
    file,
    (h) => h.extra = { dtype: "F32", shape: [0], data_offsets: [0, 0] },
    /extra is not a tensor/,
  );
  rejects(file, (h) => h.extra = "nope", /extra must be an object with dtype/);
});

Deno.test("missing tensors and metadata that disagrees with the tensors are rejected", () => {
  const { header, data } = split(file);
  const w = header["layers.1.weight"] as { data_offsets: number[] };
  const b = header["layers.1.bias"] as { data_offsets: number[] };
  const without = { ...header };
  delete without["layers.1.weight"];
  delete without["layers.1.bias"];
  assert.throws(
    () => decodeEnsemble(join(without, data.subarray(0, w.data_offsets[0]))),
    /layers\.1\.weight is missing: layers \[2,5,3\] with 3 members need it; layers\.1\.bias is missing/,
  );
  assert.ok(b.data_offsets[1] === data.length);
  rejects(
    file,
    (h) => h.__metadata__["snapfold.layers"] = "[2,6,3]",
    /layers\.0\.weight\.shape must be \[3,2,6\]/,
  );
  rejects(file, (h) => h.__metadata__["snapfold.layers"] = "[2,5", /snapfold\.layers must be JSON/);
  rejects(
    file,
    (h) => h.__metadata__["snapfold.layers"] = "[2,0,3]",
    /snapfold\.layers must be positive/,
  );
  rejects(
    file,
    (h) => h.__metadata__["snapfold.activation"] = "gelu",
    /snapfold\.activation must be one of/,
  );
  rejects(
    file,
    (h) => h.__metadata__["snapfold.members"] = "[]",
    /snapfold\.members must be a non-empty list/,
  );
  rejects(
    file,
    (h) => h.__metadata__["snapfold.members"] = JSON.stringify([{ index: 1 }, {}, {}]),
    /snapfold\.members must be a non-empty list of \{ index, epoch, step, lr \}/,
  );
  rejects(
    file,
    (h) => {
      const members = JSON.parse(h.__metadata__["snapfold.members"]);
      h.__metadata__["snapfold.members"] = JSON.stringify(members.slice(0, 2));
    },
    /layers\.0\.weight\.shape must be \[2,2,5\] for layers \[2,5,3\] and 2 members: got \[3,2,5\]/,
  );
  rejects(
    file,
    (h) => h.__metadata__["snapfold.schedule"] = '"x"',
    /snapfold\.schedule must be a JSON object/,
  );
  rejects(file, (h) => delete h.__metadata__["snapfold.version"], /snapfold\.version is missing/);
});

Deno.test("random corruption either throws ConfigError or decodes to a consistent ensemble", () => {
  const small = encodeEnsemble({ snapshots: snapshots(mlp({ layers: [2, 2] }), 2) });
  const consistent = (d: DecodedEnsemble): void => {
    assert.ok(d.snapshots.length >= 1);
    for (const s of d.snapshots) {
      const widths = denseWidths(s.spec);
      let count = 0;
      for (let l = 0; l + 1 < widths.length; l++) count += (widths[l] + 1) * widths[l + 1];
      assert.equal(s.params.length, count);
    }
  };
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(small.length - 1), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.nat(small.length),
      (edits, cut) => {
        const bytes = small.slice(0, Math.max(cut, small.length - 3 * cut));
        for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
        try {
          consistent(decodeEnsemble(bytes));
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          assert.ok(e instanceof SnapfoldError);
        }
      },
    ),
    { seed: 99, numRuns: 3000 },
  );
});

Deno.test("encode rejects mixed networks, short parameters and reserved metadata at once", () => {
  const other = mlp({ layers: [2, 4, 3] });
  const members = [...snapshots(spec, 1), ...snapshots(other, 1)];
  assert.throws(
    () =>
      encodeEnsemble({
        snapshots: [...members, { ...snapshots(spec, 1)[0], params: new Float32Array(3), lr: NaN }],
        metadata: { "snapfold.layers": "x", ok: 3 as unknown as string },
      }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), [
        "snapshots[1].spec",
        "snapshots[1].params",
        "snapshots[2].lr",
        "snapshots[2].params",
        "metadata.snapfold.layers",
        "metadata.ok",
      ]);
      assert.match(
        e.message,
        /^Cannot encode ensemble: snapshots\[1\]\.spec must equal the spec of snapshots\[0\]/,
      );
      return true;
    },
  );
  assert.throws(() => encodeEnsemble({ snapshots: [] }), /snapshots must be a non-empty list/);
});

const python = "/usr/bin/python3";
const hasNumpy = await new Deno.Command(python, { args: ["-c", "import numpy"], stderr: "null" })
  .output().then((o) => o.success, () => false);

Deno.test({
  name: "python reads the file without snapfold and gets the same member outputs",
  ignore: !hasNumpy,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const s = mlp({ layers: [3, 7, 4, 3], activation: "relu" });
      const members = snapshots(s, 3, 11);
      const x = new Float32Array([0.5, -1, 2, 3, 0.1, -0.2, -4, 1, 1]); // [3, 3]
      await Deno.writeFile(`${dir}/e.safetensors`, encodeEnsemble({ snapshots: members }));
      const rows = [0, 1, 2].map((r) => Array.from(x.subarray(3 * r, 3 * r + 3)));
      await Deno.writeTextFile(`${dir}/x.json`, JSON.stringify({ x: rows }));
      const out = await new Deno.Command(python, {
        args: [
          new URL("../tools/safetensors_check.py", import.meta.url).pathname,
          `${dir}/e.safetensors`,
          `${dir}/x.json`,
        ],
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const result = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.deepEqual(result.shapes["layers.1.weight"], [3, 7, 4]);
      assert.equal(result.metadata["snapfold.head"], "softmax");
      assert.equal(result.sealed, true); // hashlib verified both digests
      for (let m = 0; m < 3; m++) {
        const ours = forward(s, members[m].params, x, 3);
        const theirs = (result.probs[m] as number[][]).flat();
        for (let k = 0; k < ours.length; k++) assert.ok(Math.abs(ours[k] - theirs[k]) < 1e-5);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "python's check of the seal (hashlib) refuses a flipped bit in the data or the header",
  ignore: !hasNumpy,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/x.json`, JSON.stringify({ x: [[0, 1]] }));
      const { data } = split(file);
      for (const at of [file.length - data.length + 9, 40]) {
        const bytes = file.slice();
        bytes[at] ^= 0x02;
        await Deno.writeFile(`${dir}/e.safetensors`, bytes);
        const out = await new Deno.Command(python, {
          args: [
            new URL("../tools/safetensors_check.py", import.meta.url).pathname,
            `${dir}/e.safetensors`,
            `${dir}/x.json`,
          ],
          stdout: "null",
          stderr: "piped",
        }).output();
        assert.equal(out.success, false, `flip at ${at} passed`);
        assert.match(new TextDecoder().decode(out.stderr), /AssertionError|JSONDecodeError|Error/);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("encodeEnsemble keeps which replica each member came from", () => {
  const spec = mlp({ layers: [2, 3, 2] });
  const snapshots = [0, 1].map((replica) => ({
    index: 1,
    epoch: 4,
    step: 19,
    lr: 0.001,
    spec,
    params: initParams(spec, { seed: replica }),
    replica,
  }));
  const back = decodeEnsemble(encodeEnsemble({ snapshots }));
  assert.deepEqual(back.snapshots.map((s) => s.replica), [0, 1]);
  assert.deepEqual(back.snapshots[1].params, snapshots[1].params);
});

Deno.test("a network with dropout or per-layer activations is saved as snapfold.model and loads back", () => {
  const model = sequential({
    inputs: 2,
    layers: [dense(5), relu(), dropout(0.25), dense(4), tanh(), dense(3)],
  });
  const bytes = encodeEnsemble({ snapshots: snapshots(model, 2) });
  const meta = split(bytes).header.__metadata__ as Record<string, string>;
  assert.equal(meta["snapfold.layers"], "[2,5,4,3]"); // the widths, as before, for other readers
  assert.equal(meta["snapfold.activation"], undefined); // no single activation describes it
  assert.deepEqual(JSON.parse(meta["snapfold.model"]), { inputs: 2, layers: model.layers });
  const back = decodeEnsemble(bytes);
  assert.deepEqual(back.snapshots[0].spec, model);
  assert.deepEqual(back.snapshots[1].params, snapshots(model, 2)[1].params);
  // A file of one activation and no dropout keeps the old metadata, byte for byte.
  assert.equal(
    (split(file).header.__metadata__ as Record<string, string>)["snapfold.model"],
    undefined,
  );
  rejects(
    bytes,
    (h) => h.__metadata__["snapfold.layers"] = "[2,5,4,4]",
    /snapfold\.layers must be the widths of snapfold\.model, \[2,5,4,3\]/,
  );
  rejects(
    bytes,
    (h) => {
      const m = JSON.parse(h.__metadata__["snapfold.model"]);
      m.layers[2].rate = 2;
      h.__metadata__["snapfold.model"] = JSON.stringify(m);
    },
    /snapfold\.model\.layers\[2\]\.rate must be a number in \[0, 1\)/,
  );
  rejects(bytes, (h) => h.__metadata__["snapfold.model"] = "{", /snapfold\.model must be JSON/);
});

Deno.test("the seal is SHA-256 of the data and of the header with its own digits blanked", () => {
  const { header, data } = split(file);
  const meta = header.__metadata__ as Record<string, string>;
  assert.equal(meta[DATA_SEAL], sha256Hex(data));
  const n = file.length - data.length;
  const blanked = file.slice(0, n);
  const digits = new TextEncoder().encode(meta[HEADER_SEAL]);
  let at = 8;
  while (digits.some((b, k) => blanked[at + k] !== b)) at++;
  blanked.fill(0x30, at, at + 64);
  assert.equal(meta[HEADER_SEAL], sha256Hex(blanked));
  assert.equal(decodeEnsemble(file).verified, true);
});

Deno.test("a file without a seal (written before seals) loads, with a warning", () => {
  const { header, data } = split(file);
  const meta = header.__metadata__ as Record<string, string>;
  delete meta[DATA_SEAL];
  delete meta[HEADER_SEAL];
  const back = decodeEnsemble(joinUnsealed(header, data));
  assert.equal(back.verified, false);
  assert.deepEqual(back.warnings, [UNSEALED_WARNING]);
  assert.match(back.warnings[0], /carries no checksum/);
  assert.deepEqual(back.snapshots, decodeEnsemble(file).snapshots);
  // A file with half a seal is corrupt, not old.
  const half = split(file);
  delete (half.header.__metadata__ as Record<string, string>)[HEADER_SEAL];
  assert.throws(
    () => decodeEnsemble(joinUnsealed(half.header, half.data)),
    /snapfold\.header_sha256 is missing while snapfold\.data_sha256 is present/,
  );
});

Deno.test("a changed byte anywhere fails the seal with a clear message", () => {
  const { header, data } = split(file);
  (header.__metadata__ as Record<string, string>)["snapfold.version"] = "0.1.1";
  const edited = joinUnsealed(header, data);
  assert.throws(
    () => decodeEnsemble(edited),
    /^ConfigError: Cannot decode ensemble file: __metadata__\.snapfold\.header_sha256 does not match the header: the file was changed after it was written/,
  );
  const flipped = file.slice();
  flipped[flipped.length - 5] ^= 0x10;
  assert.throws(
    () => decodeEnsemble(flipped),
    /snapfold\.data_sha256 does not match the tensor data/,
  );
});

Deno.test("member records and the schedule are validated on decode", () => {
  // deno-lint-ignore no-explicit-any
  const members = (edit: (m: Record<string, unknown>[]) => void) => (h: Record<string, any>) => {
    const list = JSON.parse(h.__metadata__["snapfold.members"]);
    edit(list);
    h.__metadata__["snapfold.members"] = JSON.stringify(list);
  };
  rejects(
    file,
    members((m) => {
      m[0].index = 0;
      m[1].epoch = 1.5;
      m[2].lr = -1;
      m[2].loss = 3;
    }),
    /members\[0\]\.index must be a positive integer: got 0; .*members\[1\]\.epoch must be a non-negative integer: got 1\.5; .*members\[2\]\.lr must be a non-negative finite number: got -1; .*members\[2\]\.loss is not an option/,
  );
  rejects(
    file,
    members((m) => m[1].replica = -1),
    /members\[1\]\.replica must be a non-negative integer/,
  );
  rejects(
    file,
    (h) =>
      h.__metadata__["snapfold.members"] = h.__metadata__["snapfold.members"].replace(
        '"epoch":49',
        '"epoch":49,"epoch":0',
      ),
    /snapfold\.members must be JSON without repeated keys: duplicate key "epoch"/,
  );
  rejects(
    file,
    (h) => h.__metadata__["snapfold.schedule"] = JSON.stringify({ name: "nope", options: {} }),
    /snapfold\.schedule\.name must name a schedule constructor/,
  );
  rejects(
    file,
    (h) =>
      h.__metadata__["snapfold.schedule"] = JSON.stringify({
        name: "cosineAnnealing",
        options: { lrMax: -1, totalSteps: 600, cycles: 3 },
      }),
    /snapfold\.schedule\.options\.lrMax must be a positive finite number: got -1/,
  );
  rejects(
    file,
    (h) => h.__metadata__["snapfold.members"] = "[".repeat(5000) + "]".repeat(5000),
    /snapfold\.members must be JSON nested at most 16 levels deep/,
  );
  rejects(
    file,
    (h) => h.__metadata__["snapfold.checkpoint"] = "{}",
    /file is a checkpoint, not an ensemble: load it with loadCheckpoint/,
  );
});

Deno.test("encode validates member records and the schedule, and never throws on deep values", () => {
  const members = snapshots(spec, 2);
  assert.throws(
    () =>
      encodeEnsemble({
        snapshots: [{ ...members[0], index: 0, step: -1 }, { ...members[1], replica: 0.5 }],
        schedule: { name: "constant", options: { lr: -3 } },
      }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.field), [
        "snapshots[0].index",
        "snapshots[0].step",
        "snapshots[1].replica",
        "schedule.options.lr",
      ]);
      return true;
    },
  );
  let deep: unknown = 1;
  for (let i = 0; i < 5000; i++) deep = [deep];
  let wrapped: unknown = { name: "constant", options: { lr: 0.1 } };
  for (let i = 0; i < 3000; i++) wrapped = { name: "warmup", options: { schedule: wrapped } };
  for (
    const data of [
      { snapshots: deep },
      { snapshots: [deep] },
      { snapshots: members, schedule: wrapped },
      { snapshots: members, schedule: { name: "constant", options: { lr: deep } } },
      { snapshots: members, metadata: { a: deep } },
      { snapshots: [{ ...members[0], lr: deep }] },
      { snapshots: [{ ...members[0], spec: deep }] },
      { snapshots: [{ ...members[0], spec: { layers: deep } }] },
      { snapshots: [members[0], { ...members[1], spec: { activation: "relu", head: "softmax" } }] },
      { snapshots: [members[0], { ...members[1], spec: deep }] },
    ]
  ) {
    assert.throws(() => encodeEnsemble(data as never), ConfigError);
  }
});

Deno.test("a user metadata key named __proto__ stays a key", () => {
  const metadata = JSON.parse('{"__proto__": "x", "a": "b"}');
  const back = decodeEnsemble(encodeEnsemble({ snapshots: snapshots(spec, 1), metadata }));
  assert.deepEqual(Object.entries(back.metadata), [["__proto__", "x"], ["a", "b"]]);
});

Deno.test("a file written before seals (a fixture from commit c32019a) loads, with the note", async () => {
  // Written by that commit's encodeEnsemble (`git archive c32019a lib deno.json`, then):
  //   encodeEnsemble({ snapshots: [1, 2].map((index) => ({ index, epoch: 10 * index - 1,
  //     step: 40 * index - 1, lr: 0.0005 * index, spec, params: initParams(spec, { seed: index }) })),
  //     schedule: { name: "cosineAnnealing", options: { lrMax: 0.01, totalSteps: 80, cycles: 2 } },
  //     metadata: { written: "by snapfold 0.1.0 before seals (commit c32019a)" } })
  // with spec = mlp({ layers: [2, 3, 2], activation: "tanh" }).
  const bytes = await Deno.readFile(
    new URL("./fixtures/unsealed_ensemble.safetensors", import.meta.url),
  );
  const back = decodeEnsemble(bytes);
  const s = mlp({ layers: [2, 3, 2], activation: "tanh" });
  assert.equal(back.verified, false);
  assert.deepEqual(back.warnings, [UNSEALED_WARNING]);
  assert.deepEqual(
    back.snapshots,
    [1, 2].map((index) => ({
      index,
      epoch: 10 * index - 1,
      step: 40 * index - 1,
      lr: 0.0005 * index,
      spec: s,
      params: initParams(s, { seed: index }),
    })),
  );
  assert.deepEqual(back.metadata, { written: "by snapfold 0.1.0 before seals (commit c32019a)" });
  // Saved again, it is sealed, and identical in content.
  const resealed = decodeEnsemble(
    encodeEnsemble({
      snapshots: back.snapshots,
      schedule: back.schedule!,
      metadata: back.metadata,
    }),
  );
  assert.equal(resealed.verified, true);
  assert.deepEqual(resealed.snapshots, back.snapshots);
});
