/**
 * Two door checks of `planRun` kept apart from lib/train/config.ts: the model and the
 * augmentation option.
 *
 * @module
 */
import type { ConfigIssue } from "../errors.ts";
import { type Validation, validation } from "../validation.ts";
import { type MlpSpec, validateSequential } from "../model/mod.ts";
import { type ShiftAugment, validateShift } from "../ops/shift.ts";

/** An augmentation must be a valid `shift` whose images are the model's inputs. */
export function augmentIssues(augment: ShiftAugment, inDim: number): ConfigIssue[] {
  const a = augment as Partial<ShiftAugment> | null;
  const valid = a !== null && typeof a === "object" && a.kind === "shift"
    ? validateShift({ width: a.width!, height: a.height!, maxShift: a.maxShift! })
    : undefined;
  if (valid === undefined || valid._tag === "Left") {
    return [{ field: "augment", message: "must be an augmentation (see shift)", got: augment }];
  }
  return a!.width! * a!.height! === inDim ? [] : [{
    field: "augment",
    message: `must describe images of width x height = the model's ${inDim} inputs`,
    got: a!.width! * a!.height!,
  }];
}

/** The model, validated, with its fields named under `model.`. */
export function modelOf(model: unknown): Validation<MlpSpec> {
  if (typeof model !== "object" || model === null || Array.isArray(model)) {
    return validation(
      [{ field: "model", message: "must be a model spec (see sequential or mlp)", got: model }],
      undefined as never,
    );
  }
  const result = validateSequential(model as MlpSpec);
  return result._tag === "Left"
    ? validation(result.left.map((i) => ({ ...i, field: `model.${i.field}` })), undefined as never)
    : result;
}
