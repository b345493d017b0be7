/**
 * PyTorch export: a snapshot (or every member of an ensemble) as a safetensors state dict that
 * `torch.nn.Sequential.load_state_dict(..., strict=True)` loads without transposing.
 *
 * The layout is torch's: each `nn.Linear` weight is `[out, in]` (snapfold's own ensemble file keeps
 * the Keras `[in, out]` kernels), and the names are those `nn.Sequential` gives its modules, counting
 * the activation and dropout modules as it does: a `[5, 16, 12, 4]` network with `tanh` is
 * `Sequential(Linear(5, 16), Tanh(), Linear(16, 12), Tanh(), Linear(12, 4))`, whose tensors are
 * `0.weight`, `0.bias`, `2.weight`, `2.bias`, `4.weight`, `4.bias`. An ensemble's members are
 * prefixed by their position, as in an `nn.ModuleList` of those Sequentials (`3.0.weight`). The last
 * layer outputs logits for a softmax head: apply `torch.softmax(logits, -1)` for probabilities.
 *
 * Metadata (`__metadata__`): `format` `"pt"`, `snapfold.version`, `snapfold.head`,
 * `snapfold.modules` (JSON: the Sequential's modules, e.g. `[{"type":"Linear","in":5,"out":16},
 * {"type":"Tanh"}, ...]`), and for an ensemble `snapfold.weights` and `snapfold.vote`.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { orThrow, validation } from "../validation.ts";
import { VERSION } from "../version.ts";
import {
  type ExportActivation,
  type ExportEnsemble,
  exportHead,
  type ExportLayout,
  exportLayout,
  type ExportSnapshot,
} from "./_layout.ts";
import { encodeSafetensors, type NamedTensor } from "./_safetensors.ts";
import { ensembleIssues, snapshotIssues } from "./_validate.ts";

/** One module of the `nn.Sequential` an export loads into. */
export type TorchModule =
  | { readonly type: "Linear"; readonly in: number; readonly out: number }
  | { readonly type: "ReLU" | "Tanh" | "Sigmoid" }
  | { readonly type: "Dropout"; readonly p: number };

const TORCH_ACTIVATIONS = {
  linear: undefined,
  relu: "ReLU",
  tanh: "Tanh",
  sigmoid: "Sigmoid",
} as const satisfies Record<ExportActivation, string | undefined>;

/**
 * The modules of the `nn.Sequential` that {@linkcode toTorchStateDict}'s tensors belong to.
 *
 * @example
 * ```ts
 * import { mlp } from "@snapfold/snapfold";
 * import { torchModules } from "@snapfold/snapfold/export";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(torchModules(mlp({ layers: [2, 8, 3] })), [
 *   { type: "Linear", in: 2, out: 8 }, { type: "ReLU" }, { type: "Linear", in: 8, out: 3 },
 * ]);
 * ```
 *
 * @param spec The network.
 * @returns Its modules in order (`Linear`, activation, `Dropout` when the rate is positive).
 */
export function torchModules(spec: ExportSnapshot["spec"]): TorchModule[] {
  return modulesOf(exportLayout(spec));
}

function modulesOf(layout: ExportLayout): TorchModule[] {
  const modules: TorchModule[] = [];
  for (const layer of layout.layers) {
    modules.push({ type: "Linear", in: layer.inDim, out: layer.outDim });
    const act = TORCH_ACTIVATIONS[layer.activation];
    if (act !== undefined) modules.push({ type: act });
    if (layer.dropout > 0) modules.push({ type: "Dropout", p: layer.dropout });
  }
  return modules;
}

/**
 * Encodes a snapshot, or all members of an ensemble, as a PyTorch state dict in safetensors format.
 *
 * @example Load it in Python: `model.load_state_dict(tensors, strict=True)`
 * ```ts
 * import { initParams, mlp } from "@snapfold/snapfold";
 * import { toTorchStateDict } from "@snapfold/snapfold/export";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 3] });
 * const snapshot = { index: 1, epoch: 0, step: 9, lr: 0.1, spec, params: initParams(spec, { seed: 1 }) };
 * const bytes = toTorchStateDict(snapshot);
 * const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
 * const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
 * assert.deepEqual(header["0.weight"].shape, [8, 2]); // torch's [out, in]
 * assert.deepEqual(header["2.bias"].shape, [3]);
 * ```
 *
 * @param source A snapshot (names `0.weight`, ...) or an ensemble (names `0.0.weight`, `1.0.weight`, ...).
 * @returns The safetensors bytes.
 * @throws {ConfigError} naming every bad field.
 */
export function toTorchStateDict(source: ExportSnapshot | ExportEnsemble): Uint8Array<ArrayBuffer> {
  const isEnsemble = source !== null && typeof source === "object" && "members" in source;
  const issues: ConfigIssue[] = isEnsemble
    ? ensembleIssues(source as ExportEnsemble)
    : snapshotIssues(source as ExportSnapshot, "snapshot");
  orThrow("Cannot export to a PyTorch state dict", validation(issues, null));
  const members = isEnsemble ? (source as ExportEnsemble).members : [source as ExportSnapshot];
  const layout = exportLayout(members[0].spec);
  const tensors = members.flatMap((s, m) =>
    memberTensors(layout, s.params, isEnsemble ? `${m}.` : "")
  );
  const metadata: Record<string, string> = {
    format: "pt",
    "snapfold.version": VERSION,
    "snapfold.head": exportHead(members[0].spec),
    "snapfold.modules": JSON.stringify(modulesOf(layout)),
  };
  if (isEnsemble) {
    const e = source as ExportEnsemble;
    metadata["snapfold.weights"] = JSON.stringify(Array.from(e.weights));
    metadata["snapfold.vote"] = e.vote;
  }
  return encodeSafetensors(tensors, metadata);
}

function memberTensors(layout: ExportLayout, params: Float32Array, prefix: string): NamedTensor[] {
  const tensors: NamedTensor[] = [];
  let position = 0; // the module's index in the Sequential
  for (const layer of layout.layers) {
    const { inDim, outDim } = layer;
    const weight = new Float32Array(outDim * inDim); // [out, in]
    for (let i = 0; i < inDim; i++) {
      for (let o = 0; o < outDim; o++) {
        weight[o * inDim + i] = params[layer.weightOffset + i * outDim + o];
      }
    }
    const bias = params.slice(layer.biasOffset, layer.biasOffset + outDim);
    tensors.push({ name: `${prefix}${position}.weight`, shape: [outDim, inDim], data: weight });
    tensors.push({ name: `${prefix}${position}.bias`, shape: [outDim], data: bias });
    position += 1;
    if (TORCH_ACTIVATIONS[layer.activation] !== undefined) position += 1;
    if (layer.dropout > 0) position += 1;
  }
  return tensors;
}
