/**
 * The ONNX graph of an ensemble as plain data, its signature and its options (no protobuf
 * package: `io.ts` imports this statically and loads the encoder only when it writes a model).
 * The graph is documented in `onnx.ts`.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check, orThrow, validation } from "../validation.ts";
import { VERSION } from "../version.ts";
import {
  type ExportActivation,
  type ExportEnsemble,
  exportHead,
  type ExportLayout,
  exportLayout,
  temperatureOf,
} from "./_layout.ts";
import { GraphBuilder } from "./_graph.ts";
import { DATA_TYPE, type OnnxModel, type OnnxValueInfo } from "./_onnx_proto.ts";
import { ensembleIssues } from "./_validate.ts";

/** Name of the graph input: `[batch, inDim]` float32 rows. */
export const ONNX_INPUT = "input";
/** Name of the combined output: `[batch, outDim]` float32. */
export const ONNX_OUTPUT = "output";
/** Name of the optional per-member output: `[batch, M, outDim]` float32. */
export const ONNX_MEMBER_OUTPUTS = "member_outputs";
/** The ONNX IR version written (the newest Debian's python3-onnx 1.12 checks). */
export const ONNX_IR_VERSION = 8;
/** The default-domain opset the graph imports. */
export const ONNX_OPSET = 17;

/** How members are laid out in the graph. */
export type OnnxLayout = "stacked" | "branches";

/** Options of {@linkcode toOnnx}. */
export interface OnnxOptions {
  /** Add the `member_outputs` output `[batch, M, outDim]` (default false). */
  readonly memberOutputs?: boolean;
  /** The schedule spec (any JSON value), written into the `snapfold.schedule` metadata. */
  readonly schedule?: unknown;
  /** One `Gemm` chain per member (`"branches"`, default: faster in ONNX Runtime) or `"stacked"`. */
  readonly layout?: OnnxLayout;
  /** The graph's name (default `"snapfold_ensemble"`). */
  readonly graphName?: string;
}

/** One graph input or output as {@linkcode onnxSignature} describes it. */
export interface OnnxTensorInfo {
  /** Its name. */
  readonly name: string;
  /** Its shape; `"batch"` is the dynamic first dimension. */
  readonly dims: ReadonlyArray<number | "batch">;
}

/** The inputs and outputs of an exported ensemble's graph (all float32). */
export interface OnnxSignature {
  /** The graph's inputs. */
  readonly inputs: ReadonlyArray<OnnxTensorInfo>;
  /** The graph's outputs. */
  readonly outputs: ReadonlyArray<OnnxTensorInfo>;
}

const ACTIVATION_OPS = {
  linear: undefined,
  relu: "Relu",
  tanh: "Tanh",
  sigmoid: "Sigmoid",
} as const satisfies Record<ExportActivation, string | undefined>;

/**
 * The names and shapes of the graph {@linkcode toOnnx} writes for this ensemble and options.
 *
 * @example
 * ```ts
 * import { ensemble, initParams, mlp } from "@snapfold/snapfold";
 * import { onnxSignature } from "@snapfold/snapfold/export";
 * import assert from "node:assert/strict";
 *
 * const spec = mlp({ layers: [2, 8, 3] });
 * const snapshots = [1, 2].map((index) => ({
 *   index, epoch: index, step: index, lr: 0, spec, params: initParams(spec, { seed: index }),
 * }));
 * const sig = onnxSignature(ensemble(snapshots), { memberOutputs: true });
 * assert.deepEqual(sig.inputs, [{ name: "input", dims: ["batch", 2] }]);
 * assert.deepEqual(sig.outputs[1], { name: "member_outputs", dims: ["batch", 2, 3] });
 * ```
 *
 * @param ensemble The ensemble (members, weights, vote).
 * @param options The export options.
 * @returns The graph's inputs and outputs.
 * @throws {ConfigError} naming every bad field.
 */
export function onnxSignature(ensemble: ExportEnsemble, options: OnnxOptions = {}): OnnxSignature {
  orThrow("Cannot export ensemble to ONNX", validation(issues(ensemble, options), null));
  const layout = exportLayout(ensemble.members[0].spec);
  const m = ensemble.members.length;
  return {
    inputs: [{ name: ONNX_INPUT, dims: ["batch", layout.inDim] }],
    outputs: [
      { name: ONNX_OUTPUT, dims: ["batch", layout.outDim] },
      ...(options.memberOutputs
        ? [{ name: ONNX_MEMBER_OUTPUTS, dims: ["batch", m, layout.outDim] }]
        : []),
    ] as OnnxTensorInfo[],
  };
}

/**
 * The ONNX model of an ensemble as plain data (`toOnnx` encodes it): the graph, its constants,
 * inputs, outputs and metadata.
 *
 * @param ensemble The ensemble.
 * @param options The export options.
 * @returns The model.
 * @throws {ConfigError} naming every bad field.
 */
export function onnxModel(ensemble: ExportEnsemble, options: OnnxOptions = {}): OnnxModel {
  const sig = onnxSignature(ensemble, options);
  const { layout: kind = "branches", graphName = "snapfold_ensemble" } = options;
  const layout = exportLayout(ensemble.members[0].spec);
  const g = new GraphBuilder();
  const build = kind === "stacked" ? stackedGraph : branchesGraph;
  const { combined, members } = build(g, ensemble, layout);
  let out = combined;
  const temperature = temperatureOf(ensemble);
  if (temperature !== undefined) {
    // Guo et al. 2017 on the combined probabilities: softmax(log(p) / T).
    const t = g.floats("temperature", [], [temperature]);
    out = g.op("Softmax", [g.op("Div", [g.op("Log", [out]), t])], [int("axis", -1)]);
  }
  g.op("Identity", [out], [], ONNX_OUTPUT);
  if (options.memberOutputs) g.op("Identity", [members()], [], ONNX_MEMBER_OUTPUTS);
  const info = (t: OnnxTensorInfo): OnnxValueInfo => ({
    name: t.name,
    elemType: DATA_TYPE.float,
    dims: t.dims,
  });
  return {
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    producerName: "snapfold",
    producerVersion: VERSION,
    doc: `snapfold snapshot ensemble: ${ensemble.members.length} member(s), ` +
      `${describeVote(ensemble)}; input "input" [batch, ${layout.inDim}] float32, output ` +
      `"output" [batch, ${layout.outDim}] float32`,
    graphName,
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: sig.inputs.map(info),
    outputs: sig.outputs.map(info),
    metadata: metadata(ensemble, kind, options.schedule),
  };
}

/** The combined `[batch, outDim]` output, and what adds the `[batch, M, outDim]` member outputs. */
interface Built {
  readonly combined: string;
  readonly members: () => string;
}

function stackedGraph(g: GraphBuilder, e: ExportEnsemble, layout: ExportLayout): Built {
  const m = e.members.length;
  let h = ONNX_INPUT; // [batch, inDim], then [M, batch, width]
  for (const layer of layout.layers) {
    const { inDim, outDim, index } = layer;
    const kernels = new Float32Array(m * inDim * outDim); // [M, inDim, outDim]
    const biases = new Float32Array(m * outDim); // [M, 1, outDim]
    e.members.forEach((s, k) => {
      kernels.set(s.params.subarray(layer.weightOffset, layer.biasOffset), k * inDim * outDim);
      biases.set(s.params.subarray(layer.biasOffset, layer.biasOffset + outDim), k * outDim);
    });
    const w = g.floats(`dense${index}.kernel`, [m, inDim, outDim], kernels);
    const b = g.floats(`dense${index}.bias`, [m, 1, outDim], biases);
    h = activation(g, g.op("Add", [g.op("MatMul", [h, w]), b]), layer.activation);
  }
  const p = memberTransform(g, e, layout.outDim, h); // [M, batch, outDim]
  const weights = g.floats("member_weights", [m, 1, 1], Array.from(e.weights));
  const axes = g.ints("member_axis", [1], [0]);
  const combined = g.op("ReduceSum", [g.op("Mul", [p, weights]), axes], [int("keepdims", 0)]);
  return { combined, members: () => g.op("Transpose", [p], [ints("perm", [1, 0, 2])]) };
}

function branchesGraph(g: GraphBuilder, e: ExportEnsemble, layout: ExportLayout): Built {
  const weighted: string[] = [];
  const each: string[] = []; // [batch, outDim] per member
  e.members.forEach((s, k) => {
    let h = ONNX_INPUT; // [batch, width]
    for (const layer of layout.layers) {
      const { inDim, outDim, index } = layer;
      const w = g.floats(
        `member${k}.dense${index}.kernel`,
        [inDim, outDim],
        s.params.subarray(layer.weightOffset, layer.biasOffset),
      );
      const b = g.floats(
        `member${k}.dense${index}.bias`,
        [outDim],
        s.params.subarray(layer.biasOffset, layer.biasOffset + outDim),
      );
      h = activation(g, g.op("Gemm", [h, w, b]), layer.activation);
    }
    const p = memberTransform(g, e, layout.outDim, h); // [batch, outDim]
    weighted.push(g.op("Mul", [p, g.floats(`member${k}.weight`, [], [e.weights[k]])]));
    each.push(p);
  });
  const combined = g.op("Sum", weighted);
  const members = () => {
    const axis = g.ints("member_axis", [1], [1]);
    const rows = each.map((p) => g.op("Unsqueeze", [p, axis])); // [batch, 1, outDim]
    return rows.length === 1 ? rows[0] : g.op("Concat", rows, [int("axis", 1)]);
  };
  return { combined, members };
}

/** Raw outputs to what the vote averages: probabilities, one-hot votes, or the outputs. */
function memberTransform(g: GraphBuilder, e: ExportEnsemble, outDim: number, h: string): string {
  if (exportHead(e.members[0].spec) === "linear") return h;
  if (e.vote === "soft") return g.op("Softmax", [h], [int("axis", -1)]);
  // Hard vote: argmax (ties to the lowest class, as snapfold), one-hot.
  const votes = g.op("ArgMax", [h], [int("axis", -1), int("keepdims", 0)]);
  const depth = g.ints(`classes_${g.nodes.length}`, [1], [outDim]);
  const values = g.floats(`one_hot_${g.nodes.length}`, [2], [0, 1]);
  return g.op("OneHot", [votes, depth, values], [int("axis", -1)]);
}

function activation(g: GraphBuilder, h: string, kind: ExportActivation): string {
  const op = ACTIVATION_OPS[kind];
  return op === undefined ? h : g.op(op, [h]);
}

function int(name: string, value: number) {
  return { name, kind: "int", value } as const;
}

function ints(name: string, value: ReadonlyArray<number>) {
  return { name, kind: "ints", value } as const;
}

function describeVote(e: ExportEnsemble): string {
  if (exportHead(e.members[0].spec) === "linear") return "weighted mean output";
  const rule = e.vote === "soft" ? "soft vote (weighted mean of probabilities)" : "hard vote";
  const temperature = temperatureOf(e);
  return temperature === undefined ? rule : `${rule}, temperature ${temperature}`;
}

function metadata(
  e: ExportEnsemble,
  layout: OnnxLayout,
  schedule: unknown,
): Array<readonly [string, string]> {
  const members = e.members.map((s, k) => ({
    index: s.index,
    epoch: s.epoch,
    step: s.step,
    lr: s.lr,
    weight: e.weights[k],
  }));
  const entries: Array<readonly [string, string]> = [
    ["snapfold.version", VERSION],
    ["snapfold.vote", e.vote],
    ["snapfold.head", exportHead(e.members[0].spec)],
    ["snapfold.layout", layout],
    ["snapfold.members", JSON.stringify(members)],
  ];
  const temperature = temperatureOf(e);
  if (temperature !== undefined) entries.push(["snapfold.temperature", String(temperature)]);
  if (schedule !== undefined) entries.push(["snapfold.schedule", JSON.stringify(schedule)]);
  return entries;
}

function issues(e: ExportEnsemble, options: OnnxOptions): ConfigIssue[] {
  const found = ensembleIssues(e);
  if (options === null || typeof options !== "object") {
    return [...found, { field: "options", message: "must be an object", got: options }];
  }
  found.push(...check.knownKeys(options, ["memberOutputs", "schedule", "layout", "graphName"]));
  if (options.layout !== undefined) {
    found.push(...check.oneOf("layout", options.layout, ["stacked", "branches"]));
  }
  if (options.memberOutputs !== undefined) {
    found.push(
      ...check.that(
        typeof options.memberOutputs === "boolean",
        "memberOutputs",
        "must be a boolean",
        options.memberOutputs,
      ),
    );
  }
  if (options.graphName !== undefined) {
    const ok = typeof options.graphName === "string" && options.graphName.length > 0;
    found.push(...check.that(ok, "graphName", "must be a non-empty string", options.graphName));
  }
  if (options.schedule !== undefined) found.push(...jsonIssues("schedule", options.schedule));
  return found;
}

function jsonIssues(field: string, value: unknown): ConfigIssue[] {
  try {
    return check.that(JSON.stringify(value) !== undefined, field, "must be a JSON value", value);
  } catch (e) {
    return [{ field, message: `must be a JSON value: ${e instanceof Error ? e.message : e}` }];
  }
}
