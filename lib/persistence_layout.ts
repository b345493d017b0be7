/**
 * The layout of a snapfold ensemble file inside its safetensors container: the `snapfold.*`
 * metadata (version, network, member records, schedule) and the tensors `layers.{l}.weight`
 * [members, inDim, outDim] and `layers.{l}.bias` [members, outDim] that the network implies; how
 * lib/persistence.ts writes them and how it reads them back, checked.
 *
 * @module
 */
import type { ConfigIssue } from "./errors.ts";
import { check, orThrow, type Validation, validation } from "./validation.ts";
import {
  denseWidths,
  type Layer,
  type MlpSpec,
  paramLayout,
  validateMlp,
  validateSequential,
} from "./model/mod.ts";
import type { TensorEntry } from "./safetensors.ts";
import type { ScheduleSpec } from "./schedules/mod.ts";
import { memberIssues, scheduleIssues } from "./file_records.ts";

/** Prefix of every metadata key snapfold writes. */
export const PREFIX = "snapfold.";
/** The context of every decoding error. */
export const DECODE = "Cannot decode ensemble file";

/** The tensors a file of `m` members of `spec` must hold, against those it holds. */
function tensorIssues(spec: MlpSpec, m: number, tensors: Map<string, TensorEntry>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const widths = JSON.stringify(denseWidths(spec));
  const expected = new Map<string, number[]>();
  for (const { layer, inDim, outDim } of layerShapes(spec)) {
    expected.set(`layers.${layer}.weight`, [m, inDim, outDim]);
    expected.set(`layers.${layer}.bias`, [m, outDim]);
  }
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (t === undefined) {
      issues.push({
        field: name,
        message: `is missing: layers ${widths} with ${m} members need it`,
      });
    } else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      issues.push({
        field: `${name}.shape`,
        message: `must be ${JSON.stringify(shape)} for layers ${widths} and ${m} members`,
        got: t.shape,
      });
    }
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name)) {
      issues.push({
        field: name,
        message: `is not a tensor of layers ${widths}: remove it`,
      });
    }
  }
  return issues;
}

export interface Layout {
  readonly version: string;
  readonly spec: MlpSpec;
  readonly members: ReadonlyArray<
    { index: number; epoch: number; step: number; lr: number; replica?: number }
  >;
  readonly schedule: ScheduleSpec | null;
}

/** Reads the network, members and schedule from the metadata and checks the tensors against them. */
export function parseLayout(
  meta: Record<string, string>,
  tensors: Map<string, TensorEntry>,
): Layout {
  const issues: ConfigIssue[] = [];
  const need = (key: string): string | undefined => {
    const v = meta[`${PREFIX}${key}`];
    if (v === undefined) {
      issues.push({
        field: `__metadata__.${PREFIX}${key}`,
        message: "is missing (this file was not written by snapfold)",
      });
    }
    return v;
  };
  const json = (key: string, text: string | undefined): unknown => {
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      issues.push({ field: `__metadata__.${PREFIX}${key}`, message: "must be JSON", got: text });
      return undefined;
    }
  };
  const version = need("version");
  const specResult = specFromMetadata(meta, need, json);
  const members = json("members", need("members"));
  const scheduleText = meta[`${PREFIX}schedule`];
  const schedule = json("schedule", scheduleText);
  orThrow(DECODE, validation(issues, null));
  if (specResult?._tag === "Left") {
    issues.push(
      ...specResult.left.map((i) => ({ ...i, field: `__metadata__.${PREFIX}${i.field}` })),
    );
  }
  const memberOk = (x: unknown): boolean => {
    if (x === null || typeof x !== "object") return false;
    const r = x as Record<string, unknown>;
    return ["index", "epoch", "step", "lr"].every((k) => typeof r[k] === "number") &&
      (r.replica === undefined || Number.isSafeInteger(r.replica));
  };
  issues.push(
    ...check.that(
      Array.isArray(members) && members.length >= 1 && members.every(memberOk),
      `__metadata__.${PREFIX}members`,
      "must be a non-empty list of { index, epoch, step, lr }",
      members,
    ),
  );
  if (scheduleText !== undefined) {
    const s = schedule as Record<string, unknown> | null;
    issues.push(
      ...check.that(
        s !== null && typeof s === "object" && typeof s.name === "string" &&
          s.options !== null && typeof s.options === "object" && !Array.isArray(s.options),
        `__metadata__.${PREFIX}schedule`,
        "must be a JSON object { name, options }",
        scheduleText,
      ),
    );
  }
  orThrow(DECODE, validation(issues, null));

  const spec = (specResult as { right: MlpSpec }).right;
  const list = members as Array<
    { index: number; epoch: number; step: number; lr: number; replica?: number }
  >;
  const m = list.length;
  issues.push(...tensorIssues(spec, m, tensors));
  orThrow(DECODE, validation(issues, null));
  return {
    version: version!,
    spec,
    members: list.map(({ index, epoch, step, lr, replica }) =>
      replica === undefined ? { index, epoch, step, lr } : { index, epoch, step, lr, replica }
    ),
    schedule: scheduleText === undefined ? null : (schedule as ScheduleSpec),
  };
}

/** The member records and the schedule, checked as strictly as {@linkcode encodeEnsemble} does. */
export function checkRecords(meta: Readonly<Record<string, string>>): ConfigIssue[] {
  const field = `__metadata__.${PREFIX}members`;
  const members = JSON.parse(meta[`${PREFIX}members`]) as unknown[];
  const issues = members.flatMap((m, i) => memberIssues(m, `${field}[${i}]`, true));
  const schedule = meta[`${PREFIX}schedule`];
  if (schedule !== undefined) {
    issues.push(...scheduleIssues(JSON.parse(schedule), `__metadata__.${PREFIX}schedule`));
  }
  return issues;
}

export interface LayerShape {
  readonly layer: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly weightOffset: number;
  readonly biasOffset: number;
}

/** Offsets of each dense layer in one member's flat vector (from lib/model/layout.ts). */
export function layerShapes(spec: MlpSpec): LayerShape[] {
  return paramLayout(spec).layers.map((d) => ({
    layer: d.index,
    inDim: d.inDim,
    outDim: d.outDim,
    weightOffset: d.weightOffset,
    biasOffset: d.biasOffset,
  }));
}

/**
 * The metadata that describes a network: `snapfold.layers` (the widths) and `snapfold.head`
 * always; `snapfold.activation` when one activation serves every hidden layer and there is no
 * dropout (the files of every version so far); otherwise `snapfold.model`, the JSON of
 * `{ inputs, layers }` as `sequential` takes them.
 */
export function specMetadata(spec: MlpSpec): Record<string, string> {
  const layout = paramLayout(spec);
  const hidden = layout.layers.slice(0, -1);
  const activation = hidden.length === 0 ? "relu" : hidden[0].activation;
  const uniform = hidden.every((d) => d.activation === activation && d.dropout === 0);
  return {
    [`${PREFIX}layers`]: JSON.stringify(denseWidths(spec)),
    ...(uniform
      ? { [`${PREFIX}activation`]: activation }
      : { [`${PREFIX}model`]: JSON.stringify({ inputs: spec.inputs, layers: spec.layers }) }),
    [`${PREFIX}head`]: spec.head,
  };
}

/**
 * Reads the network from the metadata: `snapfold.model` when present (checked against
 * `snapfold.layers`), else `snapfold.layers` with `snapfold.activation`. Missing or unparsable
 * entries are reported through `need` and `json`; undefined then.
 */
export function specFromMetadata(
  meta: Record<string, string>,
  need: (key: string) => string | undefined,
  json: (key: string, text: string | undefined) => unknown,
): Validation<MlpSpec> | undefined {
  const layers = json("layers", need("layers"));
  const head = need("head");
  const modelText = meta[`${PREFIX}model`];
  if (modelText === undefined) {
    const activation = need("activation");
    if (layers === undefined || activation === undefined || head === undefined) return undefined;
    return validateMlp({
      layers: layers as number[],
      activation: activation as never,
      head: head as never,
    });
  }
  const model = json("model", modelText) as { inputs?: unknown; layers?: unknown } | null;
  if (layers === undefined || model === undefined || head === undefined) return undefined;
  const result = validateSequential({
    inputs: model?.inputs as number,
    layers: model?.layers as Layer[],
    head: head as never,
  });
  if (result._tag === "Left") {
    return validation(
      result.left.map((i) => ({ ...i, field: `model.${i.field}` })),
      result.left as never,
    );
  }
  const widths = JSON.stringify(denseWidths(result.right));
  return validation(
    check.that(
      JSON.stringify(layers) === widths,
      "layers",
      `must be the widths of snapfold.model, ${widths}`,
      layers,
    ),
    result.right,
  );
}
