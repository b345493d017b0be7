/**
 * A minimal PNG encoder for the charts' raster layers (the blobs chart's decision regions): an
 * indexed-colour image (colour type 3, 8 bits per pixel) in one IDAT chunk of stored (uncompressed)
 * deflate blocks, as PNG 1.2 (https://www.w3.org/TR/png/) and RFC 1950/1951 define them. A few
 * kilobytes for a 60 x 60 grid, which a chart drawing one rectangle per cell took 1.4 MB to say.
 *
 * @module
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream of stored deflate blocks (at most 65535 bytes each). */
function zlibStored(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = new Uint8Array(2 + blocks * 5 + data.length + 4);
  const view = new DataView(out.buffer);
  out[0] = 0x78; // deflate, 32 KiB window
  out[1] = 0x01; // no preset dictionary, fastest; (0x78 * 256 + 0x01) % 31 === 0
  let at = 2;
  for (let b = 0; b < blocks; b++) {
    const chunk = data.subarray(b * 65535, Math.min(data.length, (b + 1) * 65535));
    out[at] = b === blocks - 1 ? 1 : 0; // BFINAL, BTYPE 00 (stored)
    view.setUint16(at + 1, chunk.length, true);
    view.setUint16(at + 3, ~chunk.length & 0xffff, true);
    out.set(chunk, at + 5);
    at += 5 + chunk.length;
  }
  view.setUint32(at, adler32(data));
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes an indexed-colour PNG.
 *
 * @example A 2 x 1 image, red then blue
 * ```ts
 * import { indexedPng } from "./_png.ts";
 * import assert from "node:assert/strict";
 *
 * const png = indexedPng(2, 1, [[255, 0, 0], [0, 0, 255]], new Uint8Array([0, 1]));
 * assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(""), "PNG");
 * ```
 *
 * @param width Pixels per row.
 * @param height Rows.
 * @param palette `[r, g, b]` colours (at most 256).
 * @param pixels `[height, width]` row-major palette indices, top row first.
 * @returns The PNG file's bytes.
 */
export function indexedPng(
  width: number,
  height: number,
  palette: ReadonlyArray<readonly [number, number, number]>,
  pixels: Uint8Array,
): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 3, 0, 0, 0], 8); // 8 bits, indexed colour, deflate, adaptive filter, no interlace
  const plte = new Uint8Array(palette.length * 3);
  palette.forEach((rgb, i) => plte.set(rgb, 3 * i));
  const raw = new Uint8Array(height * (width + 1)); // each row: filter type 0, then its pixels
  for (let r = 0; r < height; r++) {
    raw.set(pixels.subarray(r * width, (r + 1) * width), r * (width + 1) + 1);
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("PLTE", plte),
    chunk("IDAT", zlibStored(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/**
 * A `data:` URL of PNG bytes (base64).
 *
 * @example
 * ```ts
 * import { pngDataUrl } from "./_png.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(pngDataUrl(new Uint8Array([1, 2, 3])), "data:image/png;base64,AQID");
 * ```
 *
 * @param png The file's bytes.
 * @returns The URL.
 */
export function pngDataUrl(png: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < png.length; i += 0x8000) {
    binary += String.fromCharCode(...png.subarray(i, i + 0x8000));
  }
  return `data:image/png;base64,${btoa(binary)}`;
}
