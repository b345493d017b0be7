;; sparse.wat: the first layer for mostly-zero inputs (MNIST pixels are about 81% zeros), the twins
;; of compressGathered, compressRows, transposeRows, forwardSparse and weightGradSparse in
;; lib/backend/_cpu_kernels.ts. A training session compresses its whole data set once (csr_rows)
;; and gathers each batch's rows from it (csr_gather: two copies per row). Skipping a zero input is exact for finite weights (see there).
;;
;; Memory: imported as env.memory; byte addresses; f32 values, i32 indices. The batch's nonzeros
;; are held by row (CSR: rowStart[rows + 1], cols, values) for the forward product and by column
;; (CSC: colStart[width + 1], colRows, colValues) for the weight gradient; the products take the
;; indices premultiplied into byte offsets of the rows they select (see csr_to_csc). Products keep 32
;; outputs (eight f32x4 accumulators) in registers per pass over a row's (or column's) nonzeros,
;; then 4, then one at a time. Activation codes: 0 linear, 1 relu, 2 tanh, 3 sigmoid (tanh and
;; sigmoid through the host's Math.tanh and Math.exp, imported as math.tanh and math.exp).
(module
  (import "env" "memory" (memory 1))
  (import "math" "tanh" (func $tanh (param f64) (result f64)))
  (import "math" "exp" (func $exp (param f64) (result f64)))

  ;; CSR of rows of x[., width]: row b is x's row idx[b] (or b when idx == 0); each kept value's
  ;; column i is written as i * scale (1: the column; the row bytes of the weights: the byte offset
  ;; that csr_forward takes). Returns the nonzeros.
  ;; Sixteen values are skipped at once when all are zero (-0 counts as zero, NaN does not); else
  ;; four are appended without branches: each lane is written at k, which advances only past a
  ;; nonzero, so one slot past the last nonzero may be written: cols and values need one more slot
  ;; than the nonzeros (or as many as the rows' values).
  (func (export "csr_rows")
    (param $x i32) (param $width i32) (param $idx i32) (param $rows i32)
    (param $rowStart i32) (param $cols i32) (param $values i32) (param $scale i32) (result i32)
    (local $b i32) (local $p i32) (local $i i32) (local $k i32) (local $v f32) (local $v4 v128)
    (local $m i32) (local $at i32)
    (i32.store (local.get $rowStart) (i32.const 0))
    (block $done
      (loop $row
        (br_if $done (i32.ge_s (local.get $b) (local.get $rows)))
        (local.set $p
          (i32.add (local.get $x)
            (i32.shl
              (i32.mul (local.get $width)
                (if (result i32) (local.get $idx)
                  (then (i32.load (i32.add (local.get $idx) (i32.shl (local.get $b) (i32.const 2)))))
                  (else (local.get $b))))
              (i32.const 2))))
        (local.set $i (i32.const 0))
        (block $end4
          (loop $next4
            (br_if $end4 (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $width)))
            (if (i32.and
                  (i32.le_s (i32.add (local.get $i) (i32.const 16)) (local.get $width))
                  (i32.eqz (v128.any_true
                    (v128.or
                      (v128.or
                        (f32x4.ne (v128.load offset=0 (local.get $p)) (v128.const f32x4 0 0 0 0))
                        (f32x4.ne (v128.load offset=16 (local.get $p)) (v128.const f32x4 0 0 0 0)))
                      (v128.or
                        (f32x4.ne (v128.load offset=32 (local.get $p)) (v128.const f32x4 0 0 0 0))
                        (f32x4.ne (v128.load offset=48 (local.get $p)) (v128.const f32x4 0 0 0 0)))))))
              (then
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (local.set $p (i32.add (local.get $p) (i32.const 64)))
                (br $next4)))
            (local.set $v4 (v128.load (local.get $p)))
            (local.set $m (i32x4.bitmask (f32x4.ne (local.get $v4) (v128.const f32x4 0 0 0 0))))
            (local.set $at (i32.mul (local.get $i) (local.get $scale)))
            (if (local.get $m)
              (then
                (i32.store (i32.add (local.get $cols) (i32.shl (local.get $k) (i32.const 2)))
                  (local.get $at))
                (f32.store (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2)))
                  (f32x4.extract_lane 0 (local.get $v4)))
                (local.set $k (i32.add (local.get $k)
                  (i32.and (i32.shr_u (local.get $m) (i32.const 0)) (i32.const 1))))
                (i32.store (i32.add (local.get $cols) (i32.shl (local.get $k) (i32.const 2)))
                  (i32.add (local.get $at) (i32.mul (local.get $scale) (i32.const 1))))
                (f32.store (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2)))
                  (f32x4.extract_lane 1 (local.get $v4)))
                (local.set $k (i32.add (local.get $k)
                  (i32.and (i32.shr_u (local.get $m) (i32.const 1)) (i32.const 1))))
                (i32.store (i32.add (local.get $cols) (i32.shl (local.get $k) (i32.const 2)))
                  (i32.add (local.get $at) (i32.mul (local.get $scale) (i32.const 2))))
                (f32.store (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2)))
                  (f32x4.extract_lane 2 (local.get $v4)))
                (local.set $k (i32.add (local.get $k)
                  (i32.and (i32.shr_u (local.get $m) (i32.const 2)) (i32.const 1))))
                (i32.store (i32.add (local.get $cols) (i32.shl (local.get $k) (i32.const 2)))
                  (i32.add (local.get $at) (i32.mul (local.get $scale) (i32.const 3))))
                (f32.store (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2)))
                  (f32x4.extract_lane 3 (local.get $v4)))
                (local.set $k (i32.add (local.get $k)
                  (i32.and (i32.shr_u (local.get $m) (i32.const 3)) (i32.const 1))))
              ))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $next4)))
        (block $end
          (loop $next
            (br_if $end (i32.ge_s (local.get $i) (local.get $width)))
            (local.set $v (f32.load (local.get $p)))
            (if (f32.ne (local.get $v) (f32.const 0))
              (then
                (i32.store (i32.add (local.get $cols) (i32.shl (local.get $k) (i32.const 2)))
                  (i32.mul (local.get $i) (local.get $scale)))
                (f32.store (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2)))
                  (local.get $v))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $next)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (i32.store (i32.add (local.get $rowStart) (i32.shl (local.get $b) (i32.const 2)))
          (local.get $k))
        (br $row)))
    (local.get $k))

  ;; Gathers rows idx[0 .. rows) of a CSR matrix (the whole data set, compressed once) into a batch's
  ;; CSR: each row's nonzeros are one memory.copy. Returns the batch's nonzeros.
  (func $csr_gather (export "csr_gather")
    (param $srcStart i32) (param $srcCols i32) (param $srcValues i32) (param $idx i32)
    (param $rows i32) (param $rowStart i32) (param $cols i32) (param $values i32) (result i32)
    (local $b i32) (local $k i32) (local $from i32) (local $bytes i32) (local $at i32)
    (i32.store (local.get $rowStart) (i32.const 0))
    (block $done
      (loop $row
        (br_if $done (i32.ge_s (local.get $b) (local.get $rows)))
        (local.set $at
          (i32.add (local.get $srcStart)
            (i32.shl (i32.load (i32.add (local.get $idx) (i32.shl (local.get $b) (i32.const 2))))
              (i32.const 2))))
        (local.set $from (i32.shl (i32.load (local.get $at)) (i32.const 2)))
        (local.set $bytes (i32.sub (i32.shl (i32.load offset=4 (local.get $at)) (i32.const 2))
          (local.get $from)))
        (memory.copy (i32.add (local.get $cols) (i32.shl (local.get $k) (i32.const 2)))
          (i32.add (local.get $srcCols) (local.get $from)) (local.get $bytes))
        (memory.copy (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2)))
          (i32.add (local.get $srcValues) (local.get $from)) (local.get $bytes))
        (local.set $k (i32.add (local.get $k) (i32.shr_u (local.get $bytes) (i32.const 2))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (i32.store (i32.add (local.get $rowStart) (i32.shl (local.get $b) (i32.const 2)))
          (local.get $k))
        (br $row)))
    (local.get $k))

  ;; CSC from CSR (a counting sort; rows stay in order within each column), as byte offsets for
  ;; the products: colRows[p] = row * bytes (of delta's rows in csc_grad), and the CSR's cols are
  ;; rewritten in place to col * bytes (of the weights' rows in csr_forward); bytes = n * 4 for the
  ;; layer's n outputs.
  (func $csr_to_csc (export "csr_to_csc")
    (param $rowStart i32) (param $cols i32) (param $values i32) (param $rows i32) (param $width i32)
    (param $colStart i32) (param $colRows i32) (param $colValues i32) (param $bytes i32)
    (local $col i32)
    (local $k i32) (local $nnz i32) (local $a i32) (local $b i32) (local $end i32) (local $p i32)
    (local $i i32)
    (memory.fill (local.get $colStart) (i32.const 0)
      (i32.shl (i32.add (local.get $width) (i32.const 1)) (i32.const 2)))
    (local.set $nnz (i32.load (i32.add (local.get $rowStart) (i32.shl (local.get $rows) (i32.const 2)))))
    (block $done
      (loop $count
        (br_if $done (i32.ge_s (local.get $k) (local.get $nnz)))
        (local.set $a
          (i32.add (local.get $colStart)
            (i32.shl
              (i32.add (i32.load (i32.add (local.get $cols) (i32.shl (local.get $k) (i32.const 2))))
                (i32.const 1))
              (i32.const 2))))
        (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $count)))
    ;; prefix sums: colStart[i] = start of column i, used as its write cursor
    (local.set $i (i32.const 0))
    (block $done
      (loop $sum
        (br_if $done (i32.ge_s (local.get $i) (local.get $width)))
        (local.set $a (i32.add (local.get $colStart) (i32.shl (local.get $i) (i32.const 2))))
        (i32.store offset=4 (local.get $a)
          (i32.add (i32.load offset=4 (local.get $a)) (i32.load (local.get $a))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $sum)))
    (block $done
      (loop $row
        (br_if $done (i32.ge_s (local.get $b) (local.get $rows)))
        (local.set $k (i32.load (i32.add (local.get $rowStart) (i32.shl (local.get $b) (i32.const 2)))))
        (local.set $end
          (i32.load offset=4 (i32.add (local.get $rowStart) (i32.shl (local.get $b) (i32.const 2)))))
        (block $rdone
          (loop $next
            (br_if $rdone (i32.ge_s (local.get $k) (local.get $end)))
            (local.set $col (i32.load (i32.add (local.get $cols) (i32.shl (local.get $k) (i32.const 2)))))
            (i32.store (i32.add (local.get $cols) (i32.shl (local.get $k) (i32.const 2)))
              (i32.mul (local.get $col) (local.get $bytes)))
            (local.set $a (i32.add (local.get $colStart) (i32.shl (local.get $col) (i32.const 2))))
            (local.set $p (i32.load (local.get $a)))
            (i32.store (local.get $a) (i32.add (local.get $p) (i32.const 1)))
            (i32.store (i32.add (local.get $colRows) (i32.shl (local.get $p) (i32.const 2)))
              (i32.mul (local.get $b) (local.get $bytes)))
            (f32.store (i32.add (local.get $colValues) (i32.shl (local.get $p) (i32.const 2)))
              (f32.load (i32.add (local.get $values) (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $next)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $row)))
    ;; shift the cursors (now the ends) back to the starts
    (local.set $i (local.get $width))
    (block $done
      (loop $shift
        (br_if $done (i32.le_s (local.get $i) (i32.const 0)))
        (local.set $a (i32.add (local.get $colStart) (i32.shl (local.get $i) (i32.const 2))))
        (i32.store (local.get $a) (i32.load offset=0 (i32.sub (local.get $a) (i32.const 4))))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $shift)))
    (i32.store (local.get $colStart) (i32.const 0)))

  ;; csr_gather, then csr_to_csc of the rows it gathered: a batch's nonzeros by row and by column in
  ;; one call (what a threaded session hands a Worker to run while it computes the step before).
  (func (export "gather_columns")
    (param $srcStart i32) (param $srcCols i32) (param $srcValues i32) (param $idx i32)
    (param $rows i32) (param $rowStart i32) (param $cols i32) (param $values i32) (param $width i32)
    (param $colStart i32) (param $colRows i32) (param $colValues i32) (param $bytes i32)
    (drop (call $csr_gather (local.get $srcStart) (local.get $srcCols) (local.get $srcValues)
      (local.get $idx) (local.get $rows) (local.get $rowStart) (local.get $cols) (local.get $values)))
    (call $csr_to_csc (local.get $rowStart) (local.get $cols) (local.get $values) (local.get $rows)
      (local.get $width) (local.get $colStart) (local.get $colRows) (local.get $colValues)
      (local.get $bytes)))

  ;; sum over the nonzeros k0 .. k1 of value[k] * m[o .. o + 32) of the row at byte offset index[k]
  ;; (the row's index times the row bytes, premultiplied by csr_rows or csr_to_csc: a multiply per
  ;; nonzero less, about 5% of the loop in an interleaved micro-benchmark) into eight
  ;; accumulators, starting from c (8 x v128 at pc).
  (func $sum32
    (param $k0 i32) (param $k1 i32) (param $index i32) (param $value i32)
    (param $m i32) (param $pc i32) (param $flags i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128)
    (local $a v128) (local $p i32) (local $relu i32)
    (local.set $relu (i32.and (local.get $flags) (i32.const 1)))
    ;; flags bit 1: start from zero (the output is not read) rather than from what it holds
    (if (i32.eqz (i32.and (local.get $flags) (i32.const 2)))
      (then
        (local.set $c0 (v128.load offset=0 (local.get $pc)))
        (local.set $c1 (v128.load offset=16 (local.get $pc)))
        (local.set $c2 (v128.load offset=32 (local.get $pc)))
        (local.set $c3 (v128.load offset=48 (local.get $pc)))
        (local.set $c4 (v128.load offset=64 (local.get $pc)))
        (local.set $c5 (v128.load offset=80 (local.get $pc)))
        (local.set $c6 (v128.load offset=96 (local.get $pc)))
        (local.set $c7 (v128.load offset=112 (local.get $pc)))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $k0) (local.get $k1)))
        (local.set $a
          (v128.load32_splat (i32.add (local.get $value) (i32.shl (local.get $k0) (i32.const 2)))))
        (local.set $p
          (i32.add (local.get $m)
            (i32.load (i32.add (local.get $index) (i32.shl (local.get $k0) (i32.const 2))))))
        (local.set $c0 (f32x4.relaxed_madd (local.get $a) (v128.load offset=0 (local.get $p)) (local.get $c0)))
        (local.set $c1 (f32x4.relaxed_madd (local.get $a) (v128.load offset=16 (local.get $p)) (local.get $c1)))
        (local.set $c2 (f32x4.relaxed_madd (local.get $a) (v128.load offset=32 (local.get $p)) (local.get $c2)))
        (local.set $c3 (f32x4.relaxed_madd (local.get $a) (v128.load offset=48 (local.get $p)) (local.get $c3)))
        (local.set $c4 (f32x4.relaxed_madd (local.get $a) (v128.load offset=64 (local.get $p)) (local.get $c4)))
        (local.set $c5 (f32x4.relaxed_madd (local.get $a) (v128.load offset=80 (local.get $p)) (local.get $c5)))
        (local.set $c6 (f32x4.relaxed_madd (local.get $a) (v128.load offset=96 (local.get $p)) (local.get $c6)))
        (local.set $c7 (f32x4.relaxed_madd (local.get $a) (v128.load offset=112 (local.get $p)) (local.get $c7)))
        (local.set $k0 (i32.add (local.get $k0) (i32.const 1)))
        (br $next)))
    (call $put (i32.add (local.get $pc) (i32.const 0)) (local.get $c0) (local.get $relu))
    (call $put (i32.add (local.get $pc) (i32.const 16)) (local.get $c1) (local.get $relu))
    (call $put (i32.add (local.get $pc) (i32.const 32)) (local.get $c2) (local.get $relu))
    (call $put (i32.add (local.get $pc) (i32.const 48)) (local.get $c3) (local.get $relu))
    (call $put (i32.add (local.get $pc) (i32.const 64)) (local.get $c4) (local.get $relu))
    (call $put (i32.add (local.get $pc) (i32.const 80)) (local.get $c5) (local.get $relu))
    (call $put (i32.add (local.get $pc) (i32.const 96)) (local.get $c6) (local.get $relu))
    (call $put (i32.add (local.get $pc) (i32.const 112)) (local.get $c7) (local.get $relu)))

  ;; The same for four outputs.
  (func $sum4
    (param $k0 i32) (param $k1 i32) (param $index i32) (param $value i32)
    (param $m i32) (param $pc i32) (param $flags i32)
    (local $c v128) (local $relu i32)
    (local.set $relu (i32.and (local.get $flags) (i32.const 1)))
    ;; flags bit 1: start from zero (the output is not read) rather than from what it holds
    (if (i32.eqz (i32.and (local.get $flags) (i32.const 2)))
      (then
        (local.set $c (v128.load (local.get $pc)))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $k0) (local.get $k1)))
        (local.set $c
          (f32x4.relaxed_madd
            (v128.load32_splat (i32.add (local.get $value) (i32.shl (local.get $k0) (i32.const 2))))
            (v128.load
              (i32.add (local.get $m)
                (i32.load (i32.add (local.get $index) (i32.shl (local.get $k0) (i32.const 2))))))
            (local.get $c)))
        (local.set $k0 (i32.add (local.get $k0) (i32.const 1)))
        (br $next)))
    (call $put (local.get $pc) (local.get $c) (local.get $relu)))

  ;; The same for one output.
  (func $sum1
    (param $k0 i32) (param $k1 i32) (param $index i32) (param $value i32)
    (param $m i32) (param $pc i32) (param $flags i32)
    (local $c f32) (local $relu i32)
    (local.set $relu (i32.and (local.get $flags) (i32.const 1)))
    ;; flags bit 1: start from zero (the output is not read) rather than from what it holds
    (if (i32.eqz (i32.and (local.get $flags) (i32.const 2)))
      (then
        (local.set $c (f32.load (local.get $pc)))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $k0) (local.get $k1)))
        (local.set $c
          (f32.add (local.get $c)
            (f32.mul
              (f32.load (i32.add (local.get $value) (i32.shl (local.get $k0) (i32.const 2))))
              (f32.load
                (i32.add (local.get $m)
                  (i32.load (i32.add (local.get $index) (i32.shl (local.get $k0) (i32.const 2)))))))))
        (local.set $k0 (i32.add (local.get $k0) (i32.const 1)))
        (br $next)))
    (f32.store (local.get $pc)
      (select (f32.const 0) (local.get $c)
        (i32.and (local.get $relu) (f32.lt (local.get $c) (f32.const 0))))))

  (func $put (param $p i32) (param $v v128) (param $relu i32)
    (if (local.get $relu)
      (then
        (local.set $v
          (v128.andnot (local.get $v) (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0))))))
    (v128.store (local.get $p) (local.get $v)))

  ;; out[0 .. n) = sum over nonzeros k0 .. k1 of value[k] times the row of m[., n] at byte offset
  ;; index[k], added to what out holds (flags bit 1 clear) or to zero (set), then ReLU when flags
  ;; bit 0 is set.
  (func $sparse_row
    (param $k0 i32) (param $k1 i32) (param $index i32) (param $value i32)
    (param $m i32) (param $n i32) (param $out i32) (param $flags i32)
    (local $o i32) (local $off i32)
    (block $wide
      (loop $blocks
        (br_if $wide (i32.gt_s (i32.add (local.get $o) (i32.const 32)) (local.get $n)))
        (local.set $off (i32.shl (local.get $o) (i32.const 2)))
        (call $sum32 (local.get $k0) (local.get $k1) (local.get $index) (local.get $value)
          (i32.add (local.get $m) (local.get $off))
          (i32.add (local.get $out) (local.get $off)) (local.get $flags))
        (local.set $o (i32.add (local.get $o) (i32.const 32)))
        (br $blocks)))
    (block $four
      (loop $blocks
        (br_if $four (i32.gt_s (i32.add (local.get $o) (i32.const 4)) (local.get $n)))
        (local.set $off (i32.shl (local.get $o) (i32.const 2)))
        (call $sum4 (local.get $k0) (local.get $k1) (local.get $index) (local.get $value)
          (i32.add (local.get $m) (local.get $off))
          (i32.add (local.get $out) (local.get $off)) (local.get $flags))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $blocks)))
    (block $one
      (loop $cols
        (br_if $one (i32.ge_s (local.get $o) (local.get $n)))
        (local.set $off (i32.shl (local.get $o) (i32.const 2)))
        (call $sum1 (local.get $k0) (local.get $k1) (local.get $index) (local.get $value)
          (i32.add (local.get $m) (local.get $off))
          (i32.add (local.get $out) (local.get $off)) (local.get $flags))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $cols))))

  ;; out[rows, n] = act(sparse rows @ w[width, n] + bias[n]); cols hold byte offsets of w's rows
  ;; (column * n * 4, from csr_to_csc or csr_rows' scale).
  (func (export "csr_forward")
    (param $rowStart i32) (param $cols i32) (param $values i32) (param $rows i32)
    (param $w i32) (param $bias i32) (param $n i32) (param $out i32) (param $act i32)
    (local $b i32) (local $row i32) (local $z f64) (local $p i32) (local $end i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $b) (local.get $rows)))
        (local.set $row
          (i32.add (local.get $out) (i32.shl (i32.mul (local.get $b) (local.get $n)) (i32.const 2))))
        (memory.copy (local.get $row) (local.get $bias) (i32.shl (local.get $n) (i32.const 2)))
        (call $sparse_row
          (i32.load (i32.add (local.get $rowStart) (i32.shl (local.get $b) (i32.const 2))))
          (i32.load offset=4 (i32.add (local.get $rowStart) (i32.shl (local.get $b) (i32.const 2))))
          (local.get $cols) (local.get $values) (local.get $w) (local.get $n) (local.get $row)
          (i32.eq (local.get $act) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $next)))
    (if (i32.lt_u (local.get $act) (i32.const 2)) (then (return)))
    (local.set $p (local.get $out))
    (local.set $end
      (i32.add (local.get $out) (i32.shl (i32.mul (local.get $rows) (local.get $n)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $z (f64.promote_f32 (f32.load (local.get $p))))
        (f32.store (local.get $p)
          (f32.demote_f64
            (if (result f64) (i32.eq (local.get $act) (i32.const 2))
              (then (call $tanh (local.get $z)))
              (else
                (f64.div (f64.const 1)
                  (f64.add (f64.const 1) (call $exp (f64.neg (local.get $z)))))))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $next))))

  ;; gW[width, n] = (sparse rows)^T @ delta[rows, n], overwritten, from the by-column nonzeros
  ;; (colRows: byte offsets of delta's rows, row * n * 4, from csr_to_csc).
  (func (export "csc_grad")
    (param $colStart i32) (param $colRows i32) (param $colValues i32) (param $width i32)
    (param $delta i32) (param $n i32) (param $out i32)
    (local $i i32) (local $row i32) (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    ;; Every row of gW is written (a column without nonzeros gets zeros), so nothing is cleared first.
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $width)))
        (local.set $row (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $bytes))))
        (call $sparse_row
          (i32.load (i32.add (local.get $colStart) (i32.shl (local.get $i) (i32.const 2))))
          (i32.load offset=4 (i32.add (local.get $colStart) (i32.shl (local.get $i) (i32.const 2))))
          (local.get $colRows) (local.get $colValues) (local.get $delta) (local.get $n)
          (local.get $row) (i32.const 2))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
)
