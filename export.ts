/**
 * Exports for serving and for other frameworks: ONNX (one graph for the whole ensemble), PyTorch
 * state dicts (safetensors in torch's `[out, in]` layout with `nn.Sequential` names), the TF.js
 * layers format, and a Triton Inference Server model configuration.
 *
 * A separate entry point, so the core (`mod.ts`) stays free of the protobuf encoder. Browser-safe:
 * every function returns bytes or text; `io.ts` has `saveOnnx` and `saveServingBundle` for files.
 *
 * @example
 * ```ts
 * import { ensemble, initParams, mlp } from "@snapfold/snapfold";
 * import { toOnnx } from "@snapfold/snapfold/export";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 3] });
 * const snapshots = [{ index: 1, epoch: 0, step: 9, lr: 0.01, spec, params: initParams(spec, { seed: 1 }) }];
 * assert.ok(toOnnx(ensemble(snapshots)) instanceof Uint8Array);
 * ```
 *
 * @module
 */
export {
  EXPORT_ACTIVATIONS,
  type ExportActivation,
  type ExportDense,
  type ExportEnsemble,
  exportHead,
  type ExportLayout,
  exportLayout,
  type ExportSnapshot,
} from "./lib/export/_layout.ts";
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
  toOnnx,
} from "./lib/export/onnx.ts";
export { type TorchModule, torchModules, toTorchStateDict } from "./lib/export/torch.ts";
export {
  type TfjsLayersModel,
  type TfjsModelJson,
  type TfjsWeightSpec,
  toTfjsLayers,
} from "./lib/export/tfjs.ts";
export { TRITON_MODEL_NAME, tritonConfig, type TritonOptions } from "./lib/export/triton.ts";
