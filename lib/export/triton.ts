/**
 * Triton Inference Server: the model configuration (`config.pbtxt`, protobuf text format) for an
 * exported ensemble, served by Triton's ONNX Runtime backend from a model repository laid out as
 * `<name>/config.pbtxt` and `<name>/1/model.onnx` (`saveServingBundle` in `io.ts` writes both).
 *
 * With `max_batch_size` above zero Triton owns the first (batch) dimension, so `dims` list the
 * others; the graph's inputs and outputs all start with the dynamic `batch` dimension for this
 * reason. `dynamic_batching` lets Triton merge concurrent requests into one batch.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, validation } from "../validation.ts";
import type { OnnxSignature, OnnxTensorInfo } from "./onnx.ts";

/** Options of {@linkcode tritonConfig}. */
export interface TritonOptions {
  /** The model's name in the repository (default `"snapfold_ensemble"`): letters, digits, `_.-`. */
  readonly name?: string;
  /** The largest batch Triton forms (default 1024). */
  readonly maxBatchSize?: number;
  /** Model instances (copies) per CPU, the unit of Triton's parallelism (default 1). */
  readonly instances?: number;
}

/** The default model name. */
export const TRITON_MODEL_NAME = "snapfold_ensemble";

/** Issues of the Triton options (shared with `saveServingBundle` in `io.ts`). */
export function tritonOptionIssues(options: TritonOptions): ConfigIssue[] {
  if (options === null || typeof options !== "object") {
    return [{ field: "options", message: "must be an object", got: options }];
  }
  const { name = TRITON_MODEL_NAME, maxBatchSize = 1024, instances = 1 } = options;
  return [
    ...check.knownKeys(options, ["name", "maxBatchSize", "instances", "onnx"]),
    ...check.that(
      typeof name === "string" && /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name),
      "name",
      "must be letters, digits, '_', '.' or '-' (a directory name in the model repository)",
      name,
    ),
    ...check.positiveInt("maxBatchSize", maxBatchSize),
    ...check.positiveInt("instances", instances),
  ];
}

/**
 * The `config.pbtxt` of an exported ensemble for Triton's ONNX Runtime backend.
 *
 * @example
 * ```ts
 * import { tritonConfig } from "@snapfold/snapfold/export";
 * import assert from "node:assert/strict";
 *
 * const text = tritonConfig({
 *   inputs: [{ name: "input", dims: ["batch", 2] }],
 *   outputs: [{ name: "output", dims: ["batch", 3] }],
 * });
 * assert.match(text, /platform: "onnxruntime_onnx"/);
 * assert.match(text, /name: "input"\n    data_type: TYPE_FP32\n    dims: \[ 2 \]/);
 * assert.match(text, /dynamic_batching \{ \}/);
 * ```
 *
 * @param signature The graph's inputs and outputs (`onnxSignature`).
 * @param options The model name, the largest batch and the instances.
 * @returns The configuration text.
 * @throws {ConfigError} naming every bad option.
 */
export function tritonConfig(signature: OnnxSignature, options: TritonOptions = {}): string {
  orThrow("Cannot write Triton config", validation(tritonOptionIssues(options), null));
  const { name = TRITON_MODEL_NAME, maxBatchSize = 1024, instances = 1 } = options;
  const tensor = (t: OnnxTensorInfo): string =>
    [
      "  {",
      `    name: ${JSON.stringify(t.name)}`,
      "    data_type: TYPE_FP32",
      `    dims: [ ${t.dims.slice(1).join(", ")} ]`,
      "  }",
    ].join("\n");
  return [
    `name: ${JSON.stringify(name)}`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${maxBatchSize}`,
    `input [\n${signature.inputs.map(tensor).join(",\n")}\n]`,
    `output [\n${signature.outputs.map(tensor).join(",\n")}\n]`,
    "dynamic_batching { }",
    `instance_group [ { count: ${instances} kind: KIND_CPU } ]`,
    "",
  ].join("\n");
}
