/**
 * A minimal safetensors writer for the framework exports: float32 tensors in the order given, the
 * JSON header padded with spaces to a multiple of 8 bytes (as the format's reference implementation
 * does), string metadata under `__metadata__`.
 *
 * @module
 */

/** One named float32 tensor. */
export interface NamedTensor {
  readonly name: string;
  readonly shape: ReadonlyArray<number>;
  readonly data: Float32Array;
}

/** Encodes tensors and metadata as safetensors bytes (little-endian float32). */
export function encodeSafetensors(
  tensors: ReadonlyArray<NamedTensor>,
  metadata: Record<string, string>,
): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = {
      dtype: "F32",
      shape: [...t.shape],
      data_offsets: [offset, offset + t.data.length * 4],
    };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  while (encoder.encode(json).length % 8 !== 0) json += " ";
  const head = encoder.encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i], true);
  }
  return out;
}
