/** Test helpers: take a safetensors file apart and put it back together, sealed or not. */
import { DATA_SEAL, HEADER_SEAL } from "../lib/safetensors.ts";
import { sha256Hex } from "../lib/sha256.ts";

/** Splits a file into its header object and data bytes. */
export function split(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return {
    header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))),
    data: bytes.subarray(8 + n),
  };
}

/** Builds a file from header text and data bytes (no padding, as other writers may do). */
export function joinText(json: string, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

/** Builds a file from a header object and data bytes, without a seal. */
export function joinUnsealed(header: unknown, data: Uint8Array): Uint8Array {
  return joinText(JSON.stringify(header), data);
}

/** The first position of `needle` in `bytes` from `from`, or -1. */
export function indexOf(bytes: Uint8Array, needle: Uint8Array, from = 0): number {
  for (let at = from; at + needle.length <= bytes.length; at++) {
    if (needle.every((b, k) => bytes[at + k] === b)) return at;
  }
  return -1;
}

/**
 * Seals a file whose header text holds `"snapfold.header_sha256":"000…0"` (64 zeros) and whose
 * data seal is right, as the format documents.
 */
export function sealInPlace(out: Uint8Array, dataLength: number): Uint8Array {
  const blank = "0".repeat(64);
  const at = indexOf(out, new TextEncoder().encode(`"${HEADER_SEAL}":"${blank}"`)) +
    HEADER_SEAL.length + 4;
  out.set(new TextEncoder().encode(sha256Hex(out.subarray(0, out.length - dataLength))), at);
  return out;
}

/**
 * Like {@linkcode joinUnsealed}, and seals the result (so that an edited header reaches the check
 * under test rather than failing the seal). Headers without a metadata object stay unsealed.
 */
export function join(header: unknown, data: Uint8Array): Uint8Array {
  const meta = (header as { __metadata__?: unknown })?.__metadata__;
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) {
    return joinUnsealed(header, data);
  }
  const sealed = {
    ...(header as object),
    __metadata__: { ...meta, [DATA_SEAL]: sha256Hex(data), [HEADER_SEAL]: "0".repeat(64) },
  };
  return sealInPlace(joinUnsealed(sealed, data), data.length);
}

/** Header text with the seal placeholders, for hand-written headers (duplicate keys and such). */
export function sealedText(json: string, data: Uint8Array): Uint8Array {
  const withSeal = json.replace(
    '"__metadata__":{',
    `"__metadata__":{"${DATA_SEAL}":"${sha256Hex(data)}","${HEADER_SEAL}":"${"0".repeat(64)}",`,
  );
  return sealInPlace(joinText(withSeal, data), data.length);
}
