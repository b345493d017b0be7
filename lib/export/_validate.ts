/**
 * Validation shared by the exporters: a snapshot's parameters match its layout, an ensemble's
 * members share one network and have one weight each.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { check } from "../validation.ts";
import { isModelSpec } from "../model/mod.ts";
import {
  EXPORT_ACTIVATIONS,
  type ExportEnsemble,
  exportHead,
  exportLayout,
  type ExportSnapshot,
} from "./_layout.ts";

/** Issues of one snapshot: a spec the exporters can read and parameters of the right length. */
export function snapshotIssues(s: ExportSnapshot, field: string): ConfigIssue[] {
  if (s === null || typeof s !== "object") {
    return [{ field, message: "must be a snapshot with spec and params", got: s }];
  }
  if (!isModelSpec(s.spec)) {
    return [{
      field: `${field}.spec`,
      message: "must be a model spec (see sequential or mlp)",
      got: s.spec,
    }];
  }
  const layout = exportLayout(s.spec);
  const issues: ConfigIssue[] = layout.layers.flatMap((layer) => [
    ...check.oneOf(`${field}.spec.layers[${layer.index}].activation`, layer.activation, [
      ...EXPORT_ACTIVATIONS,
    ]),
    ...check.that(
      Number.isFinite(layer.dropout) && layer.dropout >= 0 && layer.dropout < 1,
      `${field}.spec.layers[${layer.index}].dropout`,
      "must be a rate in [0, 1)",
      layer.dropout,
    ),
  ]);
  issues.push(...check.oneOf(`${field}.spec.head`, exportHead(s.spec), ["softmax", "linear"]));
  if (issues.length > 0) return issues;
  const count = layout.paramCount;
  if (!(s.params instanceof Float32Array) || s.params.length !== count) {
    issues.push({
      field: `${field}.params`,
      message: `must be a Float32Array of ${count} parameters`,
      got: s.params,
    });
  } else if (!s.params.every(Number.isFinite)) {
    issues.push({ field: `${field}.params`, message: "must be finite (no NaN or infinity)" });
  }
  return issues;
}

/** Issues of an ensemble: members of one network, their weights, vote and temperature. */
export function ensembleIssues(e: ExportEnsemble): ConfigIssue[] {
  if (e === null || typeof e !== "object" || !Array.isArray(e.members) || e.members.length === 0) {
    return [{ field: "ensemble.members", message: "must be a non-empty list", got: e?.members }];
  }
  const issues = e.members.flatMap((s, i) => snapshotIssues(s, `ensemble.members[${i}]`));
  if (issues.length > 0) return issues;
  const first = JSON.stringify(signature(e.members[0]));
  e.members.forEach((s, i) => {
    if (JSON.stringify(signature(s)) !== first) {
      issues.push({
        field: `ensemble.members[${i}].spec`,
        message: "must equal the spec of members[0]: an ensemble combines one network",
        got: s.spec,
      });
    }
  });
  const m = e.members.length;
  const w = e.weights;
  const weightsOk = w !== null && typeof w === "object" && w.length === m &&
    Array.from(w).every((v) => typeof v === "number" && Number.isFinite(v) && v >= 0);
  issues.push(
    ...check.that(weightsOk, "ensemble.weights", `must be ${m} non-negative finite numbers`, w),
  );
  issues.push(...check.oneOf("ensemble.vote", e.vote, ["soft", "hard"]));
  const head = exportHead(e.members[0].spec);
  if (head === "linear" && e.vote === "hard") {
    issues.push({
      field: "ensemble.vote",
      message: 'must be "soft" for a "linear" head: outputs are averaged',
      got: e.vote,
    });
  }
  if (e.temperature !== undefined) {
    issues.push(...check.positive("ensemble.temperature", e.temperature));
    if (head === "linear" && e.temperature !== 1) {
      issues.push({
        field: "ensemble.temperature",
        message: 'must be unset for a "linear" head: it scales probabilities',
        got: e.temperature,
      });
    }
  }
  return issues;
}

function signature(s: ExportSnapshot): unknown {
  return [exportHead(s.spec), exportLayout(s.spec).layers];
}
