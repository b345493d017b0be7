/**
 * The model: a list of layers (`sequential`, with `mlp` as sugar), THE parameter layout
 * (`paramLayout`, from which counts, widths and views derive), seeded initialisation and the plain
 * forward pass used for prediction.
 *
 * @module
 */
export type { Activation } from "../ops/activation.ts";
export * from "./layers.ts";
export * from "./spec.ts";
export * from "./layout.ts";
export * from "./init.ts";
export * from "./forward.ts";
export * from "./summary.ts";
