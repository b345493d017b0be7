// gather_shift: copy the rows of one step's batch out of the resident dataset, each image
// translated by its random integer shift with zero fill (the train option `augment: shift`).
//
// Job:       xb[i, r * WIDTH + c] = x[indices[start + i], (r - dy) * WIDTH + (c - dx)] when
//            0 <= r - dy < HEIGHT and 0 <= c - dx < WIDTH, else 0, for i < batch, r < HEIGHT,
//            c < WIDTH. Row i's shift comes from one counter-based word of (seed, global step,
//            row i), the dropout generator on the shift's layer key:
//            w = mix32(mix32(stream ^ i)), stream = mix32(mix32(mix32(SEED_KEY ^ step) ^ 0) ^
//            SHIFT_LAYER); dx = (w & 0xffff) % (2 MAX_SHIFT + 1) - MAX_SHIFT (columns, positive to
//            the right) and dy the same of w >> 16 (rows, positive downwards). Integers only, so
//            every backend shifts the same rows by the same pixels, bit for bit.
// Bindings:  group(0) 0 base [1] (read; u32: the plan's first global step), 1 x [n, WIDTH *
//            HEIGHT] (read), 2 indices [all steps' batches] (read), 3 xb [maxBatch, WIDTH * HEIGHT]
//            (write); group(1) 0 the step record (uniform).
// Uniforms:  cur.step (index of the step in the plan: global step = base[0] + cur.step),
//            cur.start (first position of the batch in indices), cur.batch (rows).
// Overrides: WIDTH and HEIGHT (image size; WIDTH * HEIGHT is the input width), MAX_SHIFT (largest
//            shift in pixels), SEED_KEY (the seed folded to one word, dropoutSeedKey), SHIFT_LAYER
//            (the layer key of the shift stream, lib/ops/shift.ts SHIFT_LAYER).
// Dispatch:  one invocation per element of xb, 64 per workgroup, spread over x and y so that
//            batch * WIDTH * HEIGHT may exceed 65,535 workgroups.
// Mirrors:   lib/ops/shift.ts#gatherShiftRef (the draws: #shiftStream, #shiftWord, #shiftDx,
//            #shiftDy), as the CPU and WebAssembly sessions gather their batches
//            (lib/backend/wasm/_shift_gather.ts#gatherShifted).

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override WIDTH: u32;
override HEIGHT: u32;
override MAX_SHIFT: u32;
override SEED_KEY: u32;
override SHIFT_LAYER: u32;

@group(0) @binding(0) var<storage, read> base: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> xb: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

// lowbias32 (Chris Wellons, https://nullprogram.com/blog/2018/07/31/); u32 products wrap as
// Math.imul does in lib/ops/dropout.ts#mix32 (the same function as in dropout.wgsl: WGSL has no
// includes).
fn mix32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let size = WIDTH * HEIGHT;
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= cur.batch * size) {
    return;
  }
  let i = e / size;
  let r = i32((e % size) / WIDTH);
  let c = i32(e % WIDTH);
  let step = base[0] + cur.step;
  let stream = mix32(mix32(mix32(SEED_KEY ^ step) ^ 0u) ^ SHIFT_LAYER);
  let word = mix32(mix32(stream ^ i));
  let span = 2u * MAX_SHIFT + 1u;
  let dx = i32((word & 0xffffu) % span) - i32(MAX_SHIFT);
  let dy = i32((word >> 16u) % span) - i32(MAX_SHIFT);
  let sr = r - dy;
  let sc = c - dx;
  if (sr < 0 || sr >= i32(HEIGHT) || sc < 0 || sc >= i32(WIDTH)) {
    xb[e] = 0.0;
    return;
  }
  let row = u32(indices[cur.start + i]);
  xb[e] = x[row * size + u32(sr) * WIDTH + u32(sc)];
}
