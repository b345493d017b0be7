/**
 * The state of a WebGPU training session (./_session.ts), its buffers by {@linkcode BufferRole},
 * and the encoding and submitting of one plan: the per-plan
 * buffers grow on demand, then the plan runs as ONE compute pass and ONE submit, either step by
 * step through the per-kernel calls or as a few dispatches of the fused kernel.
 *
 * @module
 */
import type { BufferRole } from "../../ops/kernel_call.ts";
import type { StepPlan } from "../backend.ts";
import { type BufferSet, USAGE, writeBuffer } from "./_buffers.ts";
import {
  bindDispatches,
  type Dispatch,
  encodeDispatch,
  type GpuContext,
  missingRole,
  stepRecords,
} from "./_context.ts";
import { type FusedChunk, type FusedLayout, fusedStepTable } from "./_fused.ts";
import { STEP_RECORD_BYTES } from "./_pipeline_cache.ts";

const { STORAGE, COPY_SRC, COPY_DST, UNIFORM } = USAGE;

/** The state of one session: its buffers by role, its compiled calls, its counters. */
export interface SessionState {
  readonly ctx: GpuContext;
  readonly buffers: BufferSet;
  readonly R: number;
  readonly P: number;
  readonly S: number;
  /** Layer widths, input first. */
  readonly dims: ReadonlyArray<number>;
  /** Whether dropout follows dense layer l (0-based). */
  readonly dropsAfter: ReadonlyArray<boolean>;
  readonly resident: Readonly<Record<"x" | "y" | "params" | "grads" | "state", GPUBuffer>>;
  readonly firstStep: GPUBuffer;
  indices: GPUBuffer;
  lrs: GPUBuffer;
  records: GPUBuffer;
  stats: GPUBuffer; // [rows, R, 2]
  statsCapacity: number; // rows
  statsRows: number;
  batchCapacity: number;
  xb: GPUBuffer; // [batch, inDim]
  acts: GPUBuffer[]; // acts[l], l = 1..L: [batch, R, dims[l]]
  deltas: GPUBuffer[]; // deltas[l], l = 1..L
  dropped: GPUBuffer[]; // dropped[l] where dense layer l-1 has dropout
  fusedTable: GPUBuffer; // [steps, 4] u32
  /** Bumped whenever a buffer that a per-kernel call binds is replaced. */
  generation: number;
  boundGeneration: number;
  stepGroup?: GPUBindGroup;
  recordGroupFor?: GPUBuffer;
  readonly step: ReadonlyArray<Dispatch>;
  readonly reset: Dispatch | undefined;
  readonly fused: { layout: FusedLayout; pipeline: GPUComputePipeline } | undefined;
}

/**
 * The buffer of a role in a session.
 *
 * @param st The session.
 * @param role The role.
 * @returns The buffer.
 */
export function sessionBuffer(st: SessionState, role: BufferRole): GPUBuffer {
  if (typeof role === "object") {
    const [list, l] = "act" in role
      ? [st.acts, role.act]
      : "delta" in role
      ? [st.deltas, role.delta]
      : [st.dropped, role.dropped];
    const found = l >= 1 ? list[l] : undefined;
    if (found === undefined) throw missingRole(role, "session");
    return found;
  }
  switch (role) {
    case "x":
    case "y":
    case "params":
    case "grads":
    case "state":
      return st.resident[role];
    case "indices":
      return st.indices;
    case "lrs":
      return st.lrs;
    case "stats":
      return st.stats;
    case "firstStep":
      return st.firstStep;
    case "batch":
      return st.xb;
    case "weights":
    case "mean":
      throw missingRole(role, "session");
  }
}

/** Grows the per-batch scratch to `maxBatch` rows (a new buffer generation when it grew). */
export function growBatch(st: SessionState, maxBatch: number): void {
  if (maxBatch <= st.batchCapacity) return;
  const { buffers, dims, R } = st;
  st.batchCapacity = maxBatch;
  const old = [st.xb, ...st.acts, ...st.deltas, ...st.dropped].filter((b) => b !== undefined);
  for (const b of new Set(old)) buffers.release(b);
  st.xb = buffers.create("batch", maxBatch * dims[0] * 4, STORAGE);
  st.acts = [];
  st.deltas = [];
  st.dropped = [];
  for (let l = 1; l < dims.length; l++) {
    const bytes = maxBatch * R * dims[l] * 4;
    st.acts[l] = buffers.create(`activations ${l}`, bytes, STORAGE);
    st.deltas[l] = buffers.create(`deltas ${l}`, bytes, STORAGE);
    if (st.dropsAfter[l - 1]) st.dropped[l] = buffers.create(`dropped ${l}`, bytes, STORAGE);
  }
  st.generation++;
}

/** Rebinds the per-kernel calls when a buffer they name was replaced. */
export function bindStep(st: SessionState): void {
  if (st.boundGeneration === st.generation) return;
  const all = st.reset === undefined ? st.step : [...st.step, st.reset];
  bindDispatches(st.ctx, all, (role) => sessionBuffer(st, role));
  st.boundGeneration = st.generation;
}

/** `buffer`, or a larger replacement of at least `bytes` (the old one released). */
function grow(
  st: SessionState,
  buffer: GPUBuffer,
  label: string,
  bytes: number,
  usage: GPUBufferUsageFlags,
): GPUBuffer {
  if (buffer.size >= bytes) return buffer;
  st.buffers.release(buffer);
  return st.buffers.create(label, Math.max(bytes, 2 * buffer.size), usage);
}

/** The step-record group, rebuilt whenever the records buffer was replaced. */
function recordGroup(st: SessionState): GPUBindGroup {
  if (st.recordGroupFor !== st.records || st.stepGroup === undefined) {
    st.stepGroup = st.ctx.device.createBindGroup({
      label: "step records",
      layout: st.ctx.cache.stepLayout,
      entries: [{ binding: 0, resource: { buffer: st.records, size: STEP_RECORD_BYTES } }],
    });
    st.recordGroupFor = st.records;
  }
  return st.stepGroup;
}

/** Encodes a plan step by step: ten or more dispatches per step. */
function encodePerKernel(
  st: SessionState,
  pass: GPUComputePassEncoder,
  plan: StepPlan,
  maxBatch: number,
): void {
  const { device, recordStride } = st.ctx;
  const steps = plan.lrs.length;
  growBatch(st, maxBatch);
  bindStep(st);
  writeBuffer(device, st.lrs, 0, plan.lrs);
  writeBuffer(device, st.firstStep, 0, new Uint32Array([plan.firstStep ?? 0]));
  const { offsets: bounds, resets } = plan;
  const row = st.statsRows;
  writeBuffer(
    device,
    st.records,
    0,
    stepRecords(recordStride, steps, (s, r) => {
      r[0] = s;
      r[1] = bounds[s];
      r[2] = bounds[s + 1] - bounds[s];
      r[3] = row + s;
    }),
  );
  const group = recordGroup(st);
  for (let s = 0; s < steps; s++) {
    const batch = bounds[s + 1] - bounds[s];
    pass.setBindGroup(1, group, [s * recordStride]);
    if (st.reset !== undefined && resets !== undefined && resets[s] !== 0) {
      encodeDispatch(pass, st.reset, batch);
    }
    for (const d of st.step) encodeDispatch(pass, d, batch);
  }
}

/** Encodes a plan as a few dispatches of the fused kernel, one workgroup per replica each. */
function encodeFused(
  st: SessionState,
  pass: GPUComputePassEncoder,
  plan: StepPlan,
  chunks: ReadonlyArray<FusedChunk>,
): void {
  const { ctx, R } = st;
  const { device, recordStride } = ctx;
  const table = fusedStepTable(plan.offsets, plan.lrs, plan.resets);
  st.fusedTable = grow(st, st.fusedTable, "fused step table", table.byteLength, STORAGE | COPY_DST);
  writeBuffer(device, st.fusedTable, 0, table);
  const row = st.statsRows;
  writeBuffer(
    device,
    st.records,
    0,
    stepRecords(recordStride, chunks.length, (c, r) => {
      r[0] = chunks[c].first;
      r[2] = chunks[c].steps;
      r[3] = row + chunks[c].first;
    }),
  );
  const { params, state, x, y } = st.resident;
  const group = device.createBindGroup({
    label: "train_fused",
    layout: ctx.cache.layout("train_fused"),
    entries: [params, state, x, y, st.indices, st.fusedTable, st.stats].map((buffer, binding) => ({
      binding,
      resource: { buffer },
    })),
  });
  const chunkGroup = recordGroup(st);
  pass.setPipeline(st.fused!.pipeline);
  pass.setBindGroup(0, group);
  for (let c = 0; c < chunks.length; c++) {
    pass.setBindGroup(1, chunkGroup, [c * recordStride]);
    pass.dispatchWorkgroups(R, 1, 1);
  }
  ctx.countFused(plan.lrs.length);
}

/**
 * Grows the per-plan buffers, encodes the plan on one path (fused when `chunks` is given) and
 * submits it.
 *
 * @param st The session.
 * @param plan The plan (validated).
 * @param steps Its steps.
 * @param maxBatch Its largest batch.
 * @param chunks The fused dispatches, or `null` for the per-kernel path.
 */
export function encodeAndSubmit(
  st: SessionState,
  plan: StepPlan,
  steps: number,
  maxBatch: number,
  chunks: ReadonlyArray<FusedChunk> | null,
): void {
  const { ctx, R } = st;
  const { device } = ctx;
  const encoder = device.createCommandEncoder({ label: "training steps" });
  let retired: GPUBuffer | undefined;
  const usageIn = STORAGE | COPY_DST;
  const indices = grow(st, st.indices, "indices", plan.indices.byteLength, usageIn);
  const lrs = grow(st, st.lrs, "lrs", plan.lrs.byteLength, usageIn);
  if (indices !== st.indices || lrs !== st.lrs) st.generation++;
  st.indices = indices;
  st.lrs = lrs;
  st.records = grow(st, st.records, "step records", steps * ctx.recordStride, UNIFORM | COPY_DST);
  if (st.statsRows + steps > st.statsCapacity) {
    const capacity = Math.max(st.statsRows + steps, 2 * st.statsCapacity, 64);
    const grown = st.buffers.create("stats", capacity * R * 8, STORAGE | COPY_SRC | COPY_DST);
    // Keep the rows not read yet; the copy runs before this submit's steps write new rows.
    if (st.statsRows > 0) encoder.copyBufferToBuffer(st.stats, 0, grown, 0, st.statsRows * R * 8);
    retired = st.stats; // destroyed after the submit that copies out of it
    st.stats = grown;
    st.statsCapacity = capacity;
    st.generation++;
  }
  writeBuffer(device, st.indices, 0, plan.indices);
  const pass = encoder.beginComputePass({ label: "training steps" });
  if (chunks !== null) encodeFused(st, pass, plan, chunks);
  else encodePerKernel(st, pass, plan, maxBatch);
  pass.end();
  device.queue.submit([encoder.finish()]);
  if (retired !== undefined) st.buffers.release(retired);
  st.statsRows += steps;
}
