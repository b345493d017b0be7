/**
 * A model summary in the manner of Keras' `model.summary()`: every layer with its output shape,
 * parameter count and multiply-adds per sample, the totals, and the same as a printable table.
 *
 * @module
 */
import { orThrow } from "../validation.ts";
import type { LayerKind } from "./layers.ts";
import { paramLayout } from "./layout.ts";
import { type ModelSpec, validateSequential } from "./spec.ts";

/** One row of a {@linkcode ModelSummary}. */
export interface LayerSummary {
  /** Position in `spec.layers`. */
  readonly index: number;
  /** Keras-style name: the kind, numbered from the second of a kind on (`dense`, `dense_1`, ...). */
  readonly name: string;
  /** The layer's kind. */
  readonly kind: LayerKind;
  /** Output width per sample (the output shape is `[batch, width]`). */
  readonly outputWidth: number;
  /** Parameters of the layer: `inDim * units + units` for a dense layer, 0 otherwise. */
  readonly params: number;
  /** Multiply-adds per sample in the forward pass: `inDim * units` for a dense layer, else 0. */
  readonly multiplyAdds: number;
}

/** What {@linkcode summary} returns. */
export interface ModelSummary {
  /** Input width per sample. */
  readonly inputs: number;
  /** The output head. */
  readonly head: ModelSpec["head"];
  /** One row per layer. */
  readonly layers: ReadonlyArray<LayerSummary>;
  /** Every parameter (all are trained). */
  readonly totalParams: number;
  /** Bytes of one model's parameters as float32. */
  readonly paramBytes: number;
  /** Multiply-adds per sample of one forward pass (an ensemble of M costs M times this). */
  readonly multiplyAdds: number;
  /** The summary as a table of aligned columns, ready to print. */
  readonly text: string;
}

/**
 * Summarises a model: layers, output shapes, parameter counts and multiply-adds per sample.
 *
 * @example The tutorial's network
 * ```ts
 * import { mlp, summary } from "@snapfold/snapfold";
 * import assert from "node:assert/strict";
 *
 * const s = summary(mlp({ layers: [2, 25, 3] }));
 * assert.deepEqual(s.layers.map((l) => [l.name, l.outputWidth, l.params]), [
 *   ["dense", 25, 75],
 *   ["relu", 25, 0],
 *   ["dense_1", 3, 78],
 * ]);
 * assert.equal(s.totalParams, 153);
 * assert.equal(s.multiplyAdds, 2 * 25 + 25 * 3);
 * assert.match(s.text, /Total params: 153 \(612 B as float32\)/);
 * ```
 *
 * @param spec A model built by `sequential` or `mlp`.
 * @returns The summary.
 * @throws {ConfigError} when `spec` is not a valid model.
 */
export function summary(spec: ModelSpec): ModelSummary {
  orThrow("Cannot summarise model", validateSequential(spec));
  const layout = paramLayout(spec);
  const seen = new Map<string, number>();
  const rows: LayerSummary[] = [];
  let width = layout.inDim;
  let dense = 0;
  spec.layers.forEach((layer, index) => {
    const count = seen.get(layer.kind) ?? 0;
    seen.set(layer.kind, count + 1);
    const name = count === 0 ? layer.kind : `${layer.kind}_${count}`;
    if (layer.kind === "dense") {
      const { inDim, outDim } = layout.layers[dense++];
      width = outDim;
      rows.push({
        index,
        name,
        kind: layer.kind,
        outputWidth: outDim,
        params: inDim * outDim + outDim,
        multiplyAdds: inDim * outDim,
      });
    } else {
      rows.push({ index, name, kind: layer.kind, outputWidth: width, params: 0, multiplyAdds: 0 });
    }
  });
  const multiplyAdds = rows.reduce((sum, row) => sum + row.multiplyAdds, 0);
  const parts = {
    inputs: layout.inDim,
    head: spec.head,
    layers: rows,
    totalParams: layout.paramCount,
    paramBytes: 4 * layout.paramCount,
    multiplyAdds,
  };
  return { ...parts, text: render(parts) };
}

function render(s: Omit<ModelSummary, "text">): string {
  const head = s.head === "softmax"
    ? "softmax head (cross-entropy)"
    : "linear head (mean squared error)";
  const table = [
    ["Layer", "Output shape", "Params", "Mult-adds"],
    ...s.layers.map((l) => [
      l.name,
      `[batch, ${l.outputWidth}]`,
      l.params.toLocaleString("en-US"),
      l.multiplyAdds.toLocaleString("en-US"),
    ]),
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  const line = (row: string[]) =>
    row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  const rule = "-".repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  return [
    `Model: ${s.inputs} inputs, ${head}`,
    rule,
    line(table[0]),
    rule,
    ...table.slice(1).map(line),
    rule,
    `Total params: ${s.totalParams.toLocaleString("en-US")} (${
      formatBytes(s.paramBytes)
    } as float32)`,
    `Multiply-adds per sample: ${s.multiplyAdds.toLocaleString("en-US")}`,
  ].join("\n");
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
