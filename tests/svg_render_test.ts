/**
 * The saved SVG charts render the same outside the browser: no shape inherits its fill from a group
 * (ImageMagick's renderer garbles those), and librsvg's `rsvg-convert` draws every chart within a
 * small mean pixel difference of Debian's Chromium. The blobs chart stays small.
 *
 * Needs /usr/bin/chromium and rsvg-convert (`apt-get install -y chromium librsvg2-bin`; .ci/run
 * installs both): without them it fails when `CI` is set and is skipped otherwise.
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  cosineAnnealing,
  ensemble,
  ensembleSizeCurve,
  initParams,
  makeBlobs,
  mlp,
  splitAt,
} from "../mod.ts";
import {
  blobsScatterChart,
  ensembleSizeChart,
  learningCurveChart,
  lrScheduleChart,
  renderSvg,
} from "../plots.ts";

const CHROMIUM = "/usr/bin/chromium";
const RSVG = "/usr/bin/rsvg-convert";
const available = existsSync(CHROMIUM) && existsSync(RSVG);
const inCi = Deno.env.get("CI") !== undefined;
if (!available && !inCi) {
  console.warn(
    "tests/svg_render_test.ts: the renderer comparison is skipped: install chromium and " +
      "librsvg2-bin (it fails instead when CI is set)",
  );
}
/**
 * Mean absolute difference per channel, in [0, 1]. The two renderers pick different fonts for
 * `sans-serif` (Liberation Sans, DejaVu Sans) and antialias differently: about 0.008 on these charts;
 * lines filled black, as ImageMagick draws Vega's inherited fills, give about 0.2.
 */
const TOLERANCE = 0.03;
/** Bytes of the tutorial's blobs chart, 1000 points over a 60 x 60 region grid (1.4 MB when every grid cell was a rectangle; about 166 KB now). */
const BLOBS_MAX_BYTES = 180_000;

const spec = mlp({ layers: [2, 10, 3] });
const snapshots = [1, 2, 3, 4, 5].map((index) => ({
  index,
  epoch: index * 10 - 1,
  step: index * 40 - 1,
  lr: 0,
  spec,
  params: initParams(spec, { seed: index }),
}));
const [, test] = splitAt(
  makeBlobs({ nSamples: 1100, centers: 3, clusterStd: 2, randomState: 2 }),
  100,
);

async function charts(): Promise<Record<string, string>> {
  const history = Array.from({ length: 50 }, (_, epoch) => ({
    epoch,
    loss: 1 / (epoch + 1),
    accuracy: 1 - 1 / (epoch + 2),
    validation: { loss: 1.2 / (epoch + 1), accuracy: 0.9 - 1 / (epoch + 2) },
  }));
  const config = {
    schedule: cosineAnnealing({ lrMax: 0.01, totalSteps: 50, cycles: 5 }),
    lrPer: "epoch" as const,
    epochs: 50,
    batchSize: 32,
    data: { n: 100 },
  };
  const x = Float32Array.from(test.x);
  return {
    lr: await renderSvg(lrScheduleChart({ config })),
    curves: await renderSvg(learningCurveChart(history)),
    size: await renderSvg(ensembleSizeChart(await ensembleSizeCurve(snapshots, { x, y: test.y }))),
    blobs: await renderSvg(blobsScatterChart({
      x: test.x,
      y: test.y,
      nFeatures: 2,
      predictor: { predict: ensemble(snapshots).predictSync },
    })),
  };
}

const SHAPES = /<(path|rect|line|circle|text|image)\b([^>]*)>/g;

Deno.test("svg: no shape inherits its fill, and the blobs chart is small", async () => {
  for (const [name, svg] of Object.entries(await charts())) {
    assert.doesNotMatch(svg, /<g\b[^>]*\sfill=/, `${name}: a group sets a fill`);
    let shapes = 0;
    for (const [, tag, attrs] of svg.matchAll(SHAPES)) {
      shapes++;
      assert.match(attrs, /\sfill="/, `${name}: a <${tag}> without its own fill`);
    }
    assert.ok(shapes > 20, `${name}: ${shapes} shapes`);
    if (name === "blobs") {
      assert.ok(svg.length <= BLOBS_MAX_BYTES, `blobs chart: ${svg.length} bytes`);
      assert.equal((svg.match(/<image\b/g) ?? []).length, 1, "the regions are one image");
      assert.match(svg, /href="data:image\/png;base64,/);
    }
  }
});

function size(svg: string): { width: number; height: number } {
  const m = /<svg\b[^>]*\swidth="(\d+)"[^>]*\sheight="(\d+)"/.exec(svg);
  assert.ok(m !== null, "the SVG has a width and a height");
  return { width: Number(m[1]), height: Number(m[2]) };
}

async function rsvg(svg: string): Promise<Uint8Array> {
  const child = new Deno.Command(RSVG, { args: ["-f", "png"], stdin: "piped", stdout: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(svg));
  await writer.close();
  const { code, stdout } = await child.output();
  assert.equal(code, 0, "rsvg-convert failed");
  return stdout;
}

const dataUrl = (png: Uint8Array) => `data:image/png;base64,${btoa(String.fromCharCode(...png))}`;

Deno.test({
  name: "svg: librsvg draws every chart as Chromium does (mean pixel difference)",
  ignore: !available && !inCi,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.ok(available, `${CHROMIUM} or ${RSVG} is missing and CI is set`);
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--force-color-profile=srgb"],
    });
    try {
      const page = await browser.newPage();
      /** Mean absolute per-channel difference of two PNGs of the same size, decoded by the page. */
      const difference = (a: string, b: string) =>
        page.evaluate(async ([a, b]) => {
          const load = async (url: string) => {
            const img = new Image();
            img.src = url;
            await img.decode();
            const canvas = new OffscreenCanvas(img.width, img.height);
            const g = canvas.getContext("2d")!;
            g.fillStyle = "white";
            g.fillRect(0, 0, img.width, img.height);
            g.drawImage(img, 0, 0);
            return {
              w: img.width,
              h: img.height,
              px: g.getImageData(0, 0, img.width, img.height).data,
            };
          };
          const [x, y] = [await load(a), await load(b)];
          if (x.w !== y.w || x.h !== y.h) {
            return { sizes: `${x.w}x${x.h} vs ${y.w}x${y.h}`, mean: 1 };
          }
          let sum = 0;
          for (let i = 0; i < x.px.length; i++) if (i % 4 !== 3) sum += Math.abs(x.px[i] - y.px[i]);
          return { sizes: "", mean: sum / (x.px.length * 0.75) / 255 };
        }, [a, b] as const);
      const inChromium = async (svg: string) => {
        const { width, height } = size(svg);
        await page.setViewportSize({ width, height });
        await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
        return dataUrl(await page.screenshot({ clip: { x: 0, y: 0, width, height } }));
      };
      const all = await charts();
      for (const [name, svg] of Object.entries(all)) {
        const d = await difference(await inChromium(svg), dataUrl(await rsvg(svg)));
        assert.equal(d.sizes, "", name);
        assert.ok(d.mean <= TOLERANCE, `${name}: mean difference ${d.mean.toFixed(4)}`);
      }
      // The measure sees the fault it guards against: lines filled as ImageMagick filled them.
      const garbled = all.curves.replace(
        /(<path\b[^>]*aria-roledescription="line mark"[^>]*\s)fill="none"/g,
        '$1fill="black"',
      );
      assert.notEqual(garbled, all.curves);
      const bad = await difference(await inChromium(garbled), dataUrl(await rsvg(all.curves)));
      assert.ok(bad.mean > TOLERANCE, `a garbled chart passes: ${bad.mean.toFixed(4)}`);
    } finally {
      await browser.close();
    }
  },
});
