;; dropout.wat: inverted dropout after one dense layer's activation, the twin of fillDropoutMask
;; followed by applyMask in lib/ops/dropout.ts (tests/wasm_kernels_test.ts checks it against them on
;; a sweep of shapes, rates, steps and seeds, bit for bit).
;;
;; Memory: imported as env.memory; every pointer is a byte address, every matrix row-major f32.
;;
;; The mask is drawn, never stored: unit u of batch row b is kept when
;;   mix32(mix32(stream ^ b) ^ u) >= floor(rate * 2^32),
;;   stream = mix32(mix32(mix32(seedKey ^ step) ^ replica) ^ layer)
;; (unsigned words; mix32 is lowbias32, two multiply-xorshift rounds whose i32 products wrap as
;; Math.imul does), and its factor is 1 / (1 - rate) rounded to f32, else 0. The output is the input
;; times that factor, one f32 product, so it has the CPU backend's bits (its float64 product of two
;; f32 is exact, and rounds once when stored). The same call serves both passes: forward from the
;; activations before dropout into the layer's output; backward on the gradient in place, drawing
;; again what the forward pass drew. Four units per f32x4 (i32x4 products wrap as i32.mul does), the
;; last 1-3 units of a row one at a time. No relaxed instructions: both variants are exact.
(module
  (import "env" "memory" (memory 1))

  ;; lowbias32 on one word (lib/ops/dropout.ts#mix32).
  (func $mix32 (param $h i32) (result i32)
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0x7feb352d)))
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 15))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0x846ca68b)))
    (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))

  ;; lowbias32 on four words.
  (func $mix32x4 (param $h v128) (result v128)
    (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))
    (local.set $h (i32x4.mul (local.get $h) (i32x4.splat (i32.const 0x7feb352d))))
    (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))))
    (local.set $h (i32x4.mul (local.get $h) (i32x4.splat (i32.const 0x846ca68b))))
    (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))

  ;; out[rows, width] = a[rows, width] * mask, the mask of (seedKey, step, replica, layer, rate);
  ;; out may be a (in place). seedKey is dropoutSeedKey(seed); step the global step (wrapping to 32
  ;; bits as the reference's `^` does); layer the index of the dense layer; rate in [0, 1).
  (func (export "dropout")
    (param $a i32) (param $rows i32) (param $width i32) (param $seedKey i32) (param $step i32)
    (param $replica i32) (param $layer i32) (param $rate f64) (param $out i32)
    (local $threshold i32) (local $scale f32) (local $stream i32) (local $rowKey i32)
    (local $b i32) (local $u i32) (local $keys v128) (local $units v128) (local $limit v128)
    (local $factor v128) (local $word i32)
    ;; dropoutThreshold and dropoutScale (floor(rate * 2^32) < 2^32 for rate < 1).
    (local.set $threshold
      (i32.trunc_f64_u (f64.floor (f64.mul (local.get $rate) (f64.const 4294967296)))))
    (local.set $scale
      (f32.demote_f64 (f64.div (f64.const 1) (f64.sub (f64.const 1) (local.get $rate)))))
    (local.set $limit (i32x4.splat (local.get $threshold)))
    (local.set $factor (f32x4.splat (local.get $scale)))
    (local.set $stream
      (call $mix32
        (i32.xor
          (call $mix32
            (i32.xor
              (call $mix32 (i32.xor (local.get $seedKey) (local.get $step)))
              (local.get $replica)))
          (local.get $layer))))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_s (local.get $b) (local.get $rows)))
        (local.set $rowKey (call $mix32 (i32.xor (local.get $stream) (local.get $b))))
        (local.set $keys (i32x4.splat (local.get $rowKey)))
        (local.set $units (v128.const i32x4 0 1 2 3))
        (local.set $u (i32.const 0))
        (block $quadsDone
          (loop $quad
            (br_if $quadsDone (i32.gt_s (i32.add (local.get $u) (i32.const 4)) (local.get $width)))
            ;; Kept lanes take the factor's bits, dropped ones +0.
            (v128.store (local.get $out)
              (f32x4.mul (v128.load (local.get $a))
                (v128.and (local.get $factor)
                  (i32x4.ge_u
                    (call $mix32x4 (v128.xor (local.get $keys) (local.get $units)))
                    (local.get $limit)))))
            (local.set $units (i32x4.add (local.get $units) (v128.const i32x4 4 4 4 4)))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (local.set $u (i32.add (local.get $u) (i32.const 4)))
            (br $quad)))
        (block $unitsDone
          (loop $unit
            (br_if $unitsDone (i32.ge_s (local.get $u) (local.get $width)))
            (local.set $word (call $mix32 (i32.xor (local.get $rowKey) (local.get $u))))
            (f32.store (local.get $out)
              (f32.mul (f32.load (local.get $a))
                (select (local.get $scale) (f32.const 0)
                  (i32.ge_u (local.get $word) (local.get $threshold)))))
            (local.set $a (i32.add (local.get $a) (i32.const 4)))
            (local.set $out (i32.add (local.get $out) (i32.const 4)))
            (local.set $u (i32.add (local.get $u) (i32.const 1)))
            (br $unit)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $row))))
)
