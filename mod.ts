/**
 * snapfold: train one network with a cyclic learning rate and keep a snapshot at the end of every
 * cycle; the snapshots form an ensemble for free ("Snapshot Ensembles: Train 1, get M for free",
 * Huang et al., ICLR 2017).
 *
 * This module only documents and re-exports; see the README for a tour.
 *
 * @module
 */
export * from "./lib/errors.ts";
export * from "./lib/metrics.ts";
export * from "./lib/random.ts";
