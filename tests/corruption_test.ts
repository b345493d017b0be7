/**
 * The corruption suite: damaged and hostile ensemble files are refused whole with a ConfigError,
 * never loaded half, never answered with a raw TypeError or RangeError.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../lib/errors.ts";
import { initParams, mlp } from "../lib/model/mod.ts";
import { type DecodedEnsemble, decodeEnsemble, encodeEnsemble } from "../lib/persistence.ts";
import { DATA_SEAL, HEADER_SEAL, MAX_HEADER_BYTES } from "../lib/safetensors.ts";
import { indexOf, join, joinText, joinUnsealed, sealedText, split } from "./_file_edit.ts";

const spec = mlp({ layers: [2, 2] });
const small = encodeEnsemble({
  snapshots: [1, 2].map((index) => ({
    index,
    epoch: 5 * index - 1,
    step: 20 * index - 1,
    lr: 0.001 * index,
    spec,
    params: initParams(spec, { seed: index }),
  })),
  schedule: { name: "cosineAnnealing", options: { lrMax: 0.01, totalSteps: 40, cycles: 2 } },
  metadata: { dataset: "blobs" },
});
const original = decodeEnsemble(small);

/** Decodes, and returns the ConfigError (anything else fails the test) or the result. */
function attempt(bytes: Uint8Array): ConfigError | DecodedEnsemble {
  try {
    return decodeEnsemble(bytes);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw new Error(`not a ConfigError: ${e}`, { cause: e });
  }
}

function rejected(bytes: Uint8Array, pattern: RegExp): void {
  const result = attempt(bytes);
  assert.ok(result instanceof ConfigError, "loaded");
  assert.match(result.message, /^Cannot decode ensemble file: /);
  assert.match(result.message, pattern);
}

Deno.test("truncation at every offset is rejected", () => {
  for (let cut = 0; cut < small.length; cut++) {
    const result = attempt(small.subarray(0, cut));
    assert.ok(result instanceof ConfigError, `cut at ${cut} loaded`);
  }
});

Deno.test("every single-bit flip of a sealed file is rejected", () => {
  let flips = 0;
  for (let i = 0; i < small.length; i++) {
    for (let bit = 0; bit < 8; bit++, flips++) {
      const bytes = small.slice();
      bytes[i] ^= 1 << bit;
      const result = attempt(bytes);
      if (!(result instanceof ConfigError)) {
        // Identical content would be acceptable; with the seal over every byte it does not happen.
        assert.deepEqual(result, original);
        assert.fail(`flip of bit ${bit} at byte ${i} loaded`);
      }
    }
  }
  assert.equal(flips, small.length * 8);
});

Deno.test("a flip in the header or the data names the seal", () => {
  const { data } = split(small);
  const at = small.length - data.length;
  const inData = small.slice();
  inData[at + 5] ^= 0x04;
  rejected(inData, /__metadata__\.snapfold\.data_sha256 does not match the tensor data/);
  const inHeader = small.slice();
  const lr = indexOf(small, new TextEncoder().encode('\\"lr\\":0.002'));
  assert.ok(lr > 0 && lr < at);
  inHeader[lr + 10] ^= 0x01; // 0.002 -> 0.003: valid JSON, a different lr
  rejected(inHeader, /__metadata__\.snapfold\.header_sha256 does not match the header/);
});

Deno.test("single-bit flips of an unsealed file give ConfigErrors or a decoded ensemble, never a crash", () => {
  const { header, data } = split(small);
  const meta = header.__metadata__ as Record<string, string>;
  delete meta[DATA_SEAL];
  delete meta[HEADER_SEAL];
  const legacy = joinUnsealed(header, data);
  let loaded = 0;
  for (let i = 0; i < legacy.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const bytes = legacy.slice();
      bytes[i] ^= 1 << bit;
      const result = attempt(bytes);
      if (result instanceof ConfigError) continue;
      loaded++;
      assert.ok(result.warnings.some((w) => /carries no checksum/.test(w)));
      assert.equal(result.verified, false);
    }
  }
  // Without a seal, flips in the tensor data (at least) load: that is what the seal is for.
  assert.ok(loaded >= data.length * 8 - 64, `${loaded}`);
});

Deno.test("overlapping, out-of-range and gapped offsets are rejected", () => {
  const { header, data } = split(small);
  // deno-lint-ignore no-explicit-any
  const edit = (fn: (h: Record<string, any>) => void, bytes = data) => {
    const h = structuredClone(header);
    fn(h);
    return join(h, bytes);
  };
  rejected(
    edit((h) => h["layers.0.bias"].data_offsets = h["layers.0.weight"].data_offsets.slice()),
    /layers\.0\.bias\.data_offsets must span 16 bytes for shape \[2,2\] of F32: got \[0,32\]/,
  );
  rejected(
    edit((h) => {
      const [b, e] = h["layers.0.bias"].data_offsets;
      h["layers.0.bias"].data_offsets = [b - 4, e - 4];
    }),
    /layers\.0\.bias\.data_offsets must start at byte 32: overlaps the tensor before it/,
  );
  rejected(
    edit((h) => h["layers.0.bias"].data_offsets = [32, 2 ** 53]),
    /data_offsets must be \[begin, end\] with 0 <= begin <= end <= 48/,
  );
  rejected(edit((h) => h["layers.0.bias"].data_offsets = [48, 32]), /0 <= begin <= end/);
  rejected(edit((h) => h["layers.0.bias"].data_offsets = [-8, 8]), /0 <= begin <= end/);
  rejected(edit((h) => h["layers.0.bias"].data_offsets = [32.5, 48]), /0 <= begin <= end/);
  rejected(
    edit(() => {}, new Uint8Array([...data, 1, 2, 3, 4])),
    /data must be covered by the tensors exactly \(they end at byte 48\)/,
  );
  rejected(
    edit((h) => {
      h["layers.0.weight"].data_offsets = [4, 36];
      h["layers.0.bias"].data_offsets = [36, 52];
    }, new Uint8Array([0, 0, 0, 0, ...data])),
    /layers\.0\.weight\.data_offsets must start at byte 0: leaves a hole before it/,
  );
  rejected(
    edit((h) => h["layers.0.weight"].shape = [2 ** 40, 2 ** 40, 2 ** 40]),
    /too large for any file/,
  );
});

Deno.test("huge or impossible header lengths are rejected before any allocation", () => {
  const max = small.slice();
  new DataView(max.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
  rejected(max, /header length must fit in the file \(\d+ bytes after it\)/);
  const big = new Uint8Array(8 + MAX_HEADER_BYTES + 8);
  new DataView(big.buffer).setUint32(0, MAX_HEADER_BYTES + 1, true);
  rejected(big, /header length must be at most 100000000 \(the safetensors limit\): got 100000001/);
});

Deno.test("duplicate keys anywhere in the header are rejected", () => {
  const { header, data } = split(small);
  const meta = header.__metadata__ as Record<string, string>;
  delete meta[DATA_SEAL];
  delete meta[HEADER_SEAL];
  const text = JSON.stringify(header);
  assert.deepEqual(decodeEnsemble(sealedText(text, data)), original); // the helper seals correctly
  // A second tensor entry of the same name: JSON.parse would keep the last.
  const weight = JSON.stringify(header["layers.0.weight"]);
  rejected(
    sealedText(`${text.slice(0, -1)},"layers.0.weight":${weight}}`, data),
    /header must not repeat a key \(readers would silently keep only the last\): duplicate key "layers\.0\.weight"/,
  );
  // Two values of one metadata key: the first would be shown to one reader, the last to another.
  rejected(
    sealedText(text.replace('"__metadata__":{', '"__metadata__":{"snapfold.head":"linear",'), data),
    /duplicate key "snapfold\.head"/,
  );
  rejected(
    sealedText(text.replace('"dtype":"F32"', '"dtype":"F32","dtype":"F32"'), data),
    /duplicate key "dtype"/,
  );
  // The same key spelt with an escape is the same key.
  rejected(
    sealedText(text.replace('"__metadata__":{', '"__metadata__":{"d\\u0061taset":"x",'), data),
    /duplicate key "dataset"/,
  );
});

Deno.test("a header that is not a plain JSON object starting with '{' is rejected", () => {
  const { header, data } = split(small);
  const text = JSON.stringify(header);
  rejected(joinText(` ${text}`, data), /header must be a JSON object whose first byte is '\{'/);
  rejected(joinText("[]", new Uint8Array()), /header must be a JSON object/);
  rejected(
    joinText(`${text}x`, data),
    /header must be UTF-8 JSON: unexpected data after the value/,
  );
  rejected(joinText(text.slice(0, -1), data), /header must be UTF-8 JSON: expected ',' or '\}'/);
  const deep = `{"__metadata__":{},"x":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
  rejected(joinText(deep, new Uint8Array()), /header must nest at most 8 levels deep/);
  const invalid = joinText(text, data);
  invalid[9] = 0xc3; // a lone UTF-8 lead byte inside the first key
  rejected(invalid, /header must be UTF-8 JSON: the bytes are not valid UTF-8/);
});

Deno.test("hostile metadata values give ConfigErrors naming the key", () => {
  const { header, data } = split(small);
  // deno-lint-ignore no-explicit-any
  const edit = (fn: (meta: Record<string, any>) => void) => {
    const h = structuredClone(header);
    fn(h.__metadata__ as Record<string, unknown>);
    return join(h, data);
  };
  const deep = "[".repeat(3000) + "]".repeat(3000);
  for (const key of ["snapfold.members", "snapfold.layers", "snapfold.schedule"]) {
    rejected(
      edit((m) => m[key] = deep),
      new RegExp(`${key.replace(".", "\\.")} must be JSON nested`),
    );
  }
  rejected(
    edit((m) => m["snapfold.members"] = "[1, 2]"),
    /snapfold\.members must be a non-empty list/,
  );
  rejected(
    edit((m) => m["snapfold.members"] = "null"),
    /snapfold\.members must be a non-empty list/,
  );
  rejected(
    edit((m) => m["snapfold.schedule"] = "null"),
    /snapfold\.schedule must be a JSON object/,
  );
  rejected(
    edit((m) => m["snapfold.schedule"] = '{"name":"warmup","options":{}}'),
    /snapfold\.schedule/,
  );
  rejected(edit((m) => m.dataset = { nested: [1] }), /__metadata__\.dataset must be a string/);
  rejected(
    edit((m) => m["snapfold.head"] = 7),
    /__metadata__\.snapfold\.head must be a string: got 7/,
  );
});

Deno.test("decodeEnsemble refuses what is not bytes with a ConfigError", () => {
  for (const value of [null, undefined, "file", 8, [1, 2, 3], new ArrayBuffer(8), { length: 8 }]) {
    assert.throws(() => decodeEnsemble(value as never), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^Cannot decode ensemble file: bytes must be a Uint8Array/);
      return true;
    });
  }
});
