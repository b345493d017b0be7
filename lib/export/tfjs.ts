/**
 * TensorFlow.js export: one snapshot in the TF.js layers format, a `model.json` (Keras `Sequential`
 * topology and the weights manifest) and a `weights.bin`, which `tf.loadLayersModel` reads from a
 * URL (`tf.loadLayersModel("https://host/model.json")`), from files, or from memory
 * (`tf.io.fromMemory`).
 *
 * Each dense layer is a Keras `Dense` layer (kernel `[in, out]`, snapfold's own layout) with its
 * activation; the last one applies `softmax` for a softmax head (so `model.predict` gives
 * probabilities) and `linear` for a regressor. A positive dropout rate becomes a `Dropout` layer,
 * the identity at inference. An ensemble exports member by member; the combination is the mean of
 * the members' `predict` (or use the ONNX export, which holds the whole ensemble).
 *
 * @module
 */
import { orThrow, validation } from "../validation.ts";
import { VERSION } from "../version.ts";
import { exportHead, exportLayout, type ExportSnapshot } from "./_layout.ts";
import { snapshotIssues } from "./_validate.ts";

/** One weight in the manifest. */
export interface TfjsWeightSpec {
  /** `<layer name>/kernel` or `<layer name>/bias`. */
  readonly name: string;
  /** Its shape. */
  readonly shape: ReadonlyArray<number>;
  /** Always `"float32"`. */
  readonly dtype: "float32";
}

/** The `model.json` of the TF.js layers format. */
export interface TfjsModelJson {
  /** `"layers-model"`. */
  readonly format: "layers-model";
  /** Who wrote it. */
  readonly generatedBy: string;
  /** Who converted it. */
  readonly convertedBy: null;
  /** The Keras `Sequential` topology. */
  readonly modelTopology: Record<string, unknown>;
  /** One group: `weights.bin` and the specs of the tensors in it, in order. */
  readonly weightsManifest: ReadonlyArray<{
    readonly paths: ReadonlyArray<string>;
    readonly weights: ReadonlyArray<TfjsWeightSpec>;
  }>;
}

/** A snapshot in the TF.js layers format. */
export interface TfjsLayersModel {
  /** The contents of `model.json` (write it with `JSON.stringify`). */
  readonly modelJson: TfjsModelJson;
  /** The contents of `weights.bin`: the tensors of the manifest, little-endian float32. */
  readonly weightsBin: Uint8Array<ArrayBuffer>;
}

/**
 * Converts one snapshot to the TF.js layers format.
 *
 * @example Load it in TF.js: `tf.loadLayersModel(tf.io.fromMemory(...))`
 * ```ts
 * import { initParams, mlp } from "@snapfold/snapfold";
 * import { toTfjsLayers } from "@snapfold/snapfold/export";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 3] });
 * const snapshot = { index: 1, epoch: 0, step: 9, lr: 0.1, spec, params: initParams(spec, { seed: 1 }) };
 * const { modelJson, weightsBin } = toTfjsLayers(snapshot);
 * assert.equal(weightsBin.length, 4 * (2 * 8 + 8 + 8 * 3 + 3));
 * assert.deepEqual(modelJson.weightsManifest[0].weights[0], {
 *   name: "dense_0/kernel", shape: [2, 8], dtype: "float32",
 * });
 * // In a page: await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology,
 * //   weightSpecs: modelJson.weightsManifest[0].weights, weightData: weightsBin.buffer }));
 * ```
 *
 * @param snapshot The snapshot.
 * @param options `weightsPath`: the name `model.json` gives the weights file (default `"weights.bin"`).
 * @returns `model.json` and `weights.bin`.
 * @throws {ConfigError} naming every bad field.
 */
export function toTfjsLayers(
  snapshot: ExportSnapshot,
  options: { readonly weightsPath?: string } = {},
): TfjsLayersModel {
  orThrow("Cannot export to TF.js", validation(snapshotIssues(snapshot, "snapshot"), null));
  const layout = exportLayout(snapshot.spec);
  const head = exportHead(snapshot.spec);
  const layers: Record<string, unknown>[] = [];
  const weights: TfjsWeightSpec[] = [];
  for (const layer of layout.layers) {
    const last = layer.index === layout.layers.length - 1;
    const name = `dense_${layer.index}`;
    layers.push({
      class_name: "Dense",
      config: {
        name,
        trainable: true,
        dtype: "float32",
        ...(layer.index === 0 ? { batch_input_shape: [null, layout.inDim] } : {}),
        units: layer.outDim,
        activation: last && head === "softmax" ? "softmax" : layer.activation,
        use_bias: true,
      },
    });
    weights.push({ name: `${name}/kernel`, shape: [layer.inDim, layer.outDim], dtype: "float32" });
    weights.push({ name: `${name}/bias`, shape: [layer.outDim], dtype: "float32" });
    if (layer.dropout > 0) {
      layers.push({
        class_name: "Dropout",
        config: { name: `dropout_${layer.index}`, rate: layer.dropout, trainable: true },
      });
    }
  }
  // The params are already the manifest's tensors in order: kernel [in, out] then bias, per layer.
  const weightsBin = new Uint8Array(layout.paramCount * 4);
  const view = new DataView(weightsBin.buffer);
  snapshot.params.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return {
    modelJson: {
      format: "layers-model",
      generatedBy: `snapfold ${VERSION}`,
      convertedBy: null,
      modelTopology: {
        class_name: "Sequential",
        config: { name: `snapfold_snapshot_${snapshot.index}`, layers },
        keras_version: "tfjs-layers 4.22.0",
        backend: "tensor_flow.js",
      },
      weightsManifest: [{ paths: [options.weightsPath ?? "weights.bin"], weights }],
    },
    weightsBin,
  };
}
