/**
 * Compute pipelines built once and cached, keyed by shader and override constants (the way jax-js
 * caches its kernels), with the binding signature of every kernel and readable compile errors.
 *
 * Every kernel binds its storage buffers in group 0 (`SHADER_BINDINGS`, generated from the WGSL
 * declarations by tools/embed_shaders.ts, in binding order) and the
 * step record `{ step, start, batch, row }` in group 1 as a uniform with a dynamic offset, so one
 * bind group per buffer arrangement serves every step of a plan.
 *
 * @module
 */
import { SnapfoldError } from "../../errors.ts";
import { SHADER_BINDINGS, type ShaderName, SHADERS } from "./_shaders.ts";

/** How a kernel uses one of its storage bindings. */
export type Access = "read" | "write";

// GPUShaderStage.COMPUTE by value: the global does not exist in browsers without WebGPU.
const SHADER_STAGE_COMPUTE = 0x4;

/** Bytes of the step record `{ step, start, batch, row }` (four u32). */
export const STEP_RECORD_BYTES: number = 16;

/** Pipelines and layouts of one device. */
export interface PipelineCache {
  /** The group-1 layout: the step record, a uniform with a dynamic offset. */
  readonly stepLayout: GPUBindGroupLayout;
  /** The group-0 layout of a kernel. */
  layout(shader: ShaderName): GPUBindGroupLayout;
  /** The pipeline of a kernel specialised by `constants`, built on first use. */
  pipeline(
    shader: ShaderName,
    constants: Readonly<Record<string, number>>,
  ): Promise<GPUComputePipeline>;
  /** Number of distinct pipelines built or being built (failed builds are evicted). */
  readonly size: number;
}

/**
 * A pipeline cache for `device`.
 *
 * @param device The device.
 * @returns The cache.
 */
export function createPipelineCache(device: GPUDevice): PipelineCache {
  const stepLayout = device.createBindGroupLayout({
    label: "step record",
    entries: [{
      binding: 0,
      visibility: SHADER_STAGE_COMPUTE,
      buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: STEP_RECORD_BYTES },
    }],
  });
  const layouts = new Map<ShaderName, GPUBindGroupLayout>();
  const pipelineLayouts = new Map<ShaderName, GPUPipelineLayout>();
  const modules = new Map<ShaderName, Promise<GPUShaderModule>>();
  const pipelines = new Map<string, Promise<GPUComputePipeline>>();

  const layout = (shader: ShaderName): GPUBindGroupLayout => {
    let found = layouts.get(shader);
    if (found === undefined) {
      found = device.createBindGroupLayout({
        label: shader,
        entries: SHADER_BINDINGS[shader].map(({ access }, binding) => ({
          binding,
          visibility: SHADER_STAGE_COMPUTE,
          buffer: { type: access === "read" ? "read-only-storage" : "storage" },
        })),
      });
      layouts.set(shader, found);
    }
    return found;
  };

  const pipelineLayout = (shader: ShaderName): GPUPipelineLayout => {
    let found = pipelineLayouts.get(shader);
    if (found === undefined) {
      found = device.createPipelineLayout({
        label: shader,
        bindGroupLayouts: [layout(shader), stepLayout],
      });
      pipelineLayouts.set(shader, found);
    }
    return found;
  };

  const module = (shader: ShaderName): Promise<GPUShaderModule> => {
    let found = modules.get(shader);
    if (found === undefined) {
      const compiling = compile(device, shader);
      // A failed compile (a lost device among the causes) is not kept: the next use tries again.
      compiling.catch(() => {
        if (modules.get(shader) === compiling) modules.delete(shader);
      });
      modules.set(shader, compiling);
      found = compiling;
    }
    return found;
  };

  return {
    stepLayout,
    layout,
    pipeline(shader, constants) {
      const names = Object.keys(constants).sort();
      const key = `${shader}|${names.map((n) => `${n}=${constants[n]}`).join(",")}`;
      let found = pipelines.get(key);
      if (found === undefined) {
        const building = build(device, shader, module(shader), pipelineLayout(shader), constants);
        // Rejected builds are evicted, so that a transient failure is not cached for good.
        building.catch(() => {
          if (pipelines.get(key) === building) pipelines.delete(key);
        });
        pipelines.set(key, building);
        found = building;
      }
      return found;
    },
    get size() {
      return pipelines.size;
    },
  };
}

async function compile(device: GPUDevice, shader: ShaderName): Promise<GPUShaderModule> {
  // The generated module starts every source with a newline; dropping it keeps line numbers equal
  // to those of the .wgsl file in error messages.
  const code = SHADERS[shader].replace(/^\n/, "");
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label: `shaders/${shader}.wgsl`, code });
  const scoped = await device.popErrorScope();
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === "error");
  if (errors.length > 0 || scoped !== null) {
    const details = errors.map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`);
    if (details.length === 0 && scoped !== null) details.push(scoped.message);
    throw new SnapfoldError(
      `Cannot compile shaders/${shader}.wgsl: ${details.join("; ")}; ` +
        "fix the shader and run `deno task shaders`",
    );
  }
  return module;
}

async function build(
  device: GPUDevice,
  shader: ShaderName,
  pending: Promise<GPUShaderModule>,
  layout: GPUPipelineLayout,
  constants: Readonly<Record<string, number>>,
): Promise<GPUComputePipeline> {
  const module = await pending;
  const what = `shaders/${shader}.wgsl with ${JSON.stringify(constants)}`;
  device.pushErrorScope("validation");
  let pipeline: GPUComputePipeline | undefined;
  let failure: unknown;
  try {
    pipeline = await device.createComputePipelineAsync({
      label: shader,
      layout,
      compute: { module, entryPoint: "main", constants: { ...constants } },
    });
  } catch (error) {
    failure = error;
  }
  const scoped = await device.popErrorScope();
  if (pipeline === undefined || scoped !== null) {
    const message = scoped?.message ??
      (failure instanceof Error ? failure.message : String(failure));
    throw new SnapfoldError(`Cannot build the pipeline of ${what}: ${message}`, { cause: failure });
  }
  return pipeline;
}
