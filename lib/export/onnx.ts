/**
 * ONNX export: the whole ensemble, combination included, as ONE ONNX graph that ONNX Runtime (Node,
 * browsers, Python, Triton Inference Server) runs as it is.
 *
 * The graph (IR version 8, default-domain opset 17: what Debian's python3-onnx 1.12 checker knows,
 * and ONNX Runtime 1.30 runs):
 *
 * | name | direction | type | shape | meaning |
 * | --- | --- | --- | --- | --- |
 * | `input` | input | float32 | `[batch, inDim]` | the rows (`batch` is dynamic) |
 * | `output` | output | float32 | `[batch, outDim]` | soft vote: the weighted mean of the members' softmax probabilities (then `softmax(log(p) / T)` when the ensemble has a temperature `T`); hard vote: the weighted vote fractions; `"linear"` head: the weighted mean output |
 * | `member_outputs` | output (option `memberOutputs`) | float32 | `[batch, M, outDim]` | each member's probabilities (or raw outputs for a `"linear"` head; one-hot votes for a hard vote) |
 *
 * Two layouts of the members: `layout: "branches"` (the default) builds one `Gemm` chain per member
 * (bias fused into the matrix product) and sums the weighted members with `Sum`; `layout: "stacked"`
 * makes each dense layer one batched `MatMul` of the `[batch, in]` rows with the `[M, in, out]`
 * kernels of all members plus an `Add` of the `[M, 1, out]` biases, so the graph's node count does
 * not grow with M. ONNX Runtime 1.30 (CPU, one thread) ran ten 784-256-10 members over 1000 rows
 * in 37.1-37.4 ms as branches and 39.5-40.3 ms stacked (best of 30-50 runs, in each of five sessions;
 * `deno task bench:onnx`), so branches
 * are the default. Dropout is the identity at inference and exports as nothing.
 *
 * Model metadata (`metadata_props`): `snapfold.version`, `snapfold.vote`, `snapfold.head`,
 * `snapfold.layout`, `snapfold.members` (JSON: each member's index, epoch, step, lr and weight),
 * `snapfold.temperature` (when set) and `snapfold.schedule` (JSON of the option `schedule`).
 *
 * The protobuf wire format comes from `@bufbuild/protobuf` (see `_onnx_proto.ts`); the module uses
 * no `Deno.*` API and runs in browsers. `saveOnnx` in `io.ts` writes the bytes to a file.
 *
 * @module
 */
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { ExportEnsemble } from "./_layout.ts";
import { onnxModel, type OnnxOptions } from "./_onnx_graph.ts";
import { encodeOnnxModel } from "./_onnx_proto.ts";

export {
  ONNX_INPUT,
  ONNX_IR_VERSION,
  ONNX_MEMBER_OUTPUTS,
  ONNX_OPSET,
  ONNX_OUTPUT,
  type OnnxLayout,
  type OnnxOptions,
  type OnnxSignature,
  onnxSignature,
  type OnnxTensorInfo,
} from "./_onnx_graph.ts";

/**
 * Exports an ensemble as one ONNX model (bytes of a `.onnx` file): the members, their activations,
 * per-member softmax, the weighted combination and the temperature, in one graph.
 *
 * @example Run it with ONNX Runtime (Node): `session.run({ input })`
 * ```ts
 * import { ensemble, initParams, mlp } from "@snapfold/snapfold";
 * import { toOnnx } from "@snapfold/snapfold/export";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 3] });
 * const snapshots = [1, 2, 3].map((index) => ({
 *   index, epoch: index, step: index, lr: 0.01, spec, params: initParams(spec, { seed: index }),
 * }));
 * const bytes = toOnnx(ensemble(snapshots, { weights: [1, 2, 1] }), { memberOutputs: true });
 * assert.ok(bytes.length > 3 * 4 * (2 * 8 + 8 + 8 * 3 + 3));
 * // With onnxruntime-node: const session = await ort.InferenceSession.create(bytes);
 * //   const { output } = await session.run({ input: new ort.Tensor("float32", x, [n, 2]) });
 * ```
 *
 * @param ensemble The ensemble (an `Ensemble`, or anything with members, weights and vote).
 * @param options The per-member output, the schedule metadata, the layout and the graph's name.
 * @returns The ONNX protobuf bytes.
 * @throws {ConfigError} naming every bad field (nothing is built).
 */
export function toOnnx(
  ensemble: ExportEnsemble,
  options: OnnxOptions = {},
): Uint8Array<ArrayBuffer> {
  return encodeOnnxModel(onnxModel(ensemble, options), new BinaryWriter());
}
