// dropout: inverted dropout after one dense layer's activation, forward or backward, every replica.
//
// Job:       MODE 0 (forward): out[i, r, u] = a[i, r, u] * m(i, r, u); MODE 1 (backward):
//            out[i, r, u] *= m(i, r, u) (the gradient, in place), for i < batch, r < REPLICAS,
//            u < WIDTH, where m = SCALE when the unit's word is at least THRESHOLD, else 0. The word
//            is a counter-based hash of (seed, global step, replica, LAYER, row i, unit u), so the
//            backward pass draws again what the forward pass drew, and the CPU draws the same.
// Bindings:  group(0) 0 base [1] (read; u32: the plan's first global step), 1 a [batch, replicas,
//            WIDTH] (read; the activations before dropout, unused by MODE 1), 2 out [batch,
//            replicas, WIDTH] (write; MODE 1 reads it too); group(1) 0 the step record (uniform).
// Uniforms:  cur.step (index of the step in the plan: global step = base[0] + cur.step), cur.batch.
// Overrides: WIDTH (units), REPLICAS, LAYER (index of the dense layer), SEED_KEY (the seed folded
//            to one word, dropoutSeedKey), THRESHOLD (floor(rate * 2^32)), SCALE (1 / (1 - rate)
//            in f32), MODE (0 forward, 1 backward).
// Dispatch:  one invocation per element, 64 per workgroup, spread over x and y so that
//            batch * REPLICAS * WIDTH may exceed 65,535 workgroups.
// Mirrors:   lib/ops/dropout.ts#dropoutBits (the hash) and #fillDropoutMask (the mask), as the CPU
//            backend applies them (lib/backend/cpu/_workspace.ts, forwardRows and backwardRows).

struct Step {
  step: u32,
  start: u32,
  batch: u32,
  row: u32,
}

override WIDTH: u32;
override REPLICAS: u32;
override LAYER: u32;
override SEED_KEY: u32;
override THRESHOLD: u32;
override SCALE: f32;
override MODE: u32 = 0u;

@group(0) @binding(0) var<storage, read> base: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> cur: Step;

// lowbias32 (Chris Wellons, https://nullprogram.com/blog/2018/07/31/); u32 products wrap as
// Math.imul does in lib/ops/dropout.ts#mix32.
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
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= cur.batch * REPLICAS * WIDTH) {
    return;
  }
  let u = e % WIDTH;
  let r = (e / WIDTH) % REPLICAS;
  let i = e / (WIDTH * REPLICAS);
  let step = base[0] + cur.step;
  let stream = mix32(mix32(mix32(SEED_KEY ^ step) ^ r) ^ LAYER);
  let word = mix32(mix32(stream ^ i) ^ u);
  let m = select(0.0, SCALE, word >= THRESHOLD);
  if (MODE == 0u) {
    out[e] = a[e] * m;
  } else {
    out[e] = out[e] * m;
  }
}
