/**
 * SVG that other renderers draw as browsers do, and that stays small. Vega writes its SVG with `fill="none"` on the root group and leaves the fill of lines, paths and
 * legend symbols to inheritance. Browsers and librsvg follow the inheritance; ImageMagick's own SVG
 * renderer does not (filled lines get a stroke back to their start, legend labels become black
 * boxes). {@linkcode explicitFill} writes every shape's fill on the shape itself and drops it from
 * the groups, so that no renderer has to inherit it (remove when Vega writes explicit fills).
 * {@linkcode roundCoordinates} writes geometry to 0.01 px instead of Vega's 17 digits.
 * {@linkcode portableSvg} does both.
 *
 * @module
 */

const SHAPES = new Set([
  "path",
  "rect",
  "line",
  "circle",
  "ellipse",
  "polygon",
  "polyline",
  "text",
  "image",
]);
/** One tag: `/`, the name, the attributes (double-quoted, as Vega writes them), `/`. */
const TAG = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>/g;
const FILL = /\sfill="([^"]*)"/;

/**
 * Makes every shape's fill explicit and removes `fill` from `<g>` and `<svg>`.
 *
 * @example
 * ```ts
 * import { explicitFill } from "./_portable_svg.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   explicitFill('<svg><g fill="none"><path d="M0,0"/><text fill="#000">a</text></g></svg>'),
 *   '<svg><g><path d="M0,0" fill="none"/><text fill="#000">a</text></g></svg>',
 * );
 * ```
 *
 * @param svg An SVG document as Vega writes it.
 * @returns The same drawing with no inherited fill.
 */
export function explicitFill(svg: string): string {
  const inherited: string[] = ["black"]; // SVG's initial fill
  return svg.replace(TAG, (tag, close: string, name: string, attrs: string, selfClose: string) => {
    if (close === "/") {
      if (!SHAPES.has(name) || name === "text") inherited.pop();
      return tag;
    }
    const own = FILL.exec(attrs)?.[1];
    const fill = own ?? inherited[inherited.length - 1];
    let out = tag;
    if (name === "g" || name === "svg") {
      out = `<${name}${attrs.replace(FILL, "")}${selfClose === "/" ? "/" : ""}>`;
    } else if (SHAPES.has(name) && own === undefined) {
      out = `<${name}${attrs} fill="${fill}"${selfClose === "/" ? "/" : ""}>`;
    }
    // Every element that is not self-closed and not a shape (except text) scopes its children.
    if (selfClose !== "/" && (!SHAPES.has(name) || name === "text")) inherited.push(fill);
    return out;
  });
}

/** A decimal with more than two digits after the point. */
const LONG_DECIMAL = /(-?\d+\.\d{2})\d+/g;
/** Geometry attributes: their numbers are pixels. */
const GEOMETRY = /\s(d|transform|x|y|x1|x2|y1|y2|width|height|points)="([^"]*)"/g;

/**
 * Cuts the numbers of geometry attributes (`d`, `transform`, `x`, `y`, ...) to 0.01 px: invisible,
 * and it halves the size of a chart of a thousand points.
 *
 * @example
 * ```ts
 * import { roundCoordinates } from "./_portable_svg.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   roundCoordinates('<path transform="translate(164.80524361630205,-3.1)" aria-label="1.23456"/>'),
 *   '<path transform="translate(164.80,-3.1)" aria-label="1.23456"/>',
 * );
 * ```
 *
 * @param svg An SVG document.
 * @returns The same drawing with shorter numbers.
 */
export function roundCoordinates(svg: string): string {
  return svg.replace(
    GEOMETRY,
    (_, name: string, value: string) => ` ${name}="${value.replace(LONG_DECIMAL, "$1")}"`,
  );
}

/**
 * {@linkcode explicitFill}, then {@linkcode roundCoordinates}: what `renderSvg` returns.
 *
 * @example
 * ```ts
 * import { portableSvg } from "./_portable_svg.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   portableSvg('<svg><g fill="none"><path d="M0.123,1"/></g></svg>'),
 *   '<svg><g><path d="M0.12,1" fill="none"/></g></svg>',
 * );
 * ```
 *
 * @param svg An SVG document as Vega writes it.
 * @returns The portable, smaller document.
 */
export function portableSvg(svg: string): string {
  return roundCoordinates(explicitFill(svg));
}
