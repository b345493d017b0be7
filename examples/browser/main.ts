/**
 * The demo page's script: trains the tutorial's blobs model in the browser with the library's
 * bundle (WebGPU when the browser has an adapter, the CPU otherwise), shows progress, then draws the
 * lr schedule with its snapshot markers, the test blobs over the ensemble's decision regions and the
 * ensemble-size curve with the library's own chart builders, from the very objects that trained.
 *
 * The configuration is examples/blobs.ts's, so that the page and `deno run examples/blobs.ts --json`
 * report the same accuracies for the same seed (tests/browser_test.ts checks that). The query string
 * presets the form: `?epochs=500&cycles=10&lrMax=0.01&seed=1&backend=webgpu|cpu`.
 *
 * The finished run is exposed as `window.__snapfoldResult` (see {@linkcode DemoResult}).
 *
 * `deno task build:browser` compiles this file to dist/demo.js; the library stays external and the
 * page's import map points its package names at dist/snapfold.js.
 *
 * @module
 */
import {
  type Backend,
  cosineAnnealing,
  createCpuBackend,
  createWebGpuBackend,
  ensemble,
  ensembleSizeCurve,
  type EpochEvent,
  mlp,
  perEpoch,
  sgd,
  type Snapshot,
  train,
} from "@snapfold/snapfold";
import { tutorialData } from "../_tutorial.ts";
import {
  blobsScatterChart,
  ensembleSizeChart,
  learningCurveChart,
  lrScheduleChart,
  renderSvg,
  type VegaLiteSpec,
} from "@snapfold/snapfold/plots";

/** What the page publishes on `window.__snapfoldResult` when a run ends. */
export type DemoResult =
  | {
    readonly status: "done";
    readonly backend: "cpu" | "webgpu";
    readonly adapter: string | null;
    /** Why WebGPU was not used, when the CPU ran although WebGPU was asked for. */
    readonly fallback: string | null;
    readonly epochs: number;
    readonly cycles: number;
    readonly lrMax: number;
    readonly seed: number;
    readonly trainMs: number;
    readonly readbacks: number;
    readonly snapshots: ReadonlyArray<{
      index: number;
      epoch: number;
      step: number;
      lr: number;
      testAccuracy: number;
    }>;
    /** `ensemble[i]`: the ensemble of the last i + 1 snapshots, as examples/blobs.ts reports it. */
    readonly ensemble: ReadonlyArray<{ members: number; testAccuracy: number }>;
    readonly singleMean: number;
  }
  | { readonly status: "error"; readonly error: string };

/** The form's values. */
interface Settings {
  epochs: number;
  cycles: number;
  lrMax: number;
  seed: number;
  backend: "webgpu" | "cpu";
}

const BATCH = 32;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const form = $<HTMLFormElement>("settings");
const runButton = $<HTMLButtonElement>("run");
const statusLine = $<HTMLElement>("status");
const backendLine = $<HTMLElement>("backend");
const progressBar = $<HTMLProgressElement>("progress");
const errorBox = $<HTMLElement>("error");
const table = $<HTMLElement>("table");

function setResult(result: DemoResult): void {
  (globalThis as { __snapfoldResult?: DemoResult }).__snapfoldResult = result;
  document.body.dataset.status = result.status;
}

function readSettings(): Settings {
  const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
  return {
    epochs: Number(value("epochs")),
    cycles: Number(value("cycles")),
    lrMax: Number(value("lrMax")),
    seed: Number(value("seed")),
    backend: value("backend") === "cpu" ? "cpu" : "webgpu",
  };
}

/** Presets the form from the query string (unknown names are ignored). */
function presetFromQuery(): void {
  const query = new URLSearchParams(location.search);
  for (const name of ["epochs", "cycles", "lrMax", "seed", "backend"]) {
    const given = query.get(name);
    const field = form.elements.namedItem(name) as HTMLInputElement | null;
    if (given !== null && field !== null) field.value = given;
  }
}

/** WebGPU when asked for and available; otherwise the CPU, with the reason. */
async function openBackend(
  wanted: Settings["backend"],
): Promise<{ backend: Backend; fallback: string | null }> {
  if (wanted === "cpu") return { backend: createCpuBackend(), fallback: null };
  try {
    return { backend: await createWebGpuBackend(), fallback: null };
  } catch (error) {
    return { backend: createCpuBackend(), fallback: message(error) };
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Lets the browser paint: the CPU backend trains synchronously between the trainer's awaits. */
const nextFrame = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function draw(id: string, spec: VegaLiteSpec): Promise<void> {
  $(id).innerHTML = await renderSvg(spec);
}

async function run(): Promise<void> {
  const settings = readSettings();
  runButton.disabled = true;
  errorBox.hidden = true;
  table.textContent = "";
  for (const id of ["lr-chart", "blobs-chart", "size-chart", "curve-chart"]) $(id).textContent = "";
  delete (globalThis as { __snapfoldResult?: DemoResult }).__snapfoldResult;
  document.body.dataset.status = "training";
  progressBar.value = 0;
  statusLine.textContent = "Opening the backend…";
  let backend: Backend | undefined;
  try {
    const opened = await openBackend(settings.backend);
    backend = opened.backend;
    backendLine.textContent = backend.kind === "webgpu"
      ? `Backend: WebGPU on ${backend.adapter}${
        backend.softwareAdapter ? " (software adapter)" : ""
      }`
      : `Backend: CPU${opened.fallback === null ? "" : ` (${opened.fallback})`}`;
    backendLine.dataset.backend = backend.kind;

    // The tutorial's data: 1100 points, 3 centers, std 2, randomState 2; first 100 train, 1000 test.
    const { train: data, test } = tutorialData();
    const model = mlp({ layers: [2, 25, 3], activation: "relu", head: "softmax" });
    const schedule = cosineAnnealing({
      lrMax: settings.lrMax,
      totalSteps: settings.epochs,
      cycles: settings.cycles,
    });

    const snapshots: Snapshot[] = [];
    const history: EpochEvent[] = [];
    let trainMs = 0;
    let readbacks = 0;
    let painted = performance.now();
    for await (
      const event of train({
        backend,
        model,
        optimizer: sgd({ momentum: 0.9 }),
        schedule,
        lrPer: "epoch",
        epochs: settings.epochs,
        batchSize: BATCH,
        data,
        seed: settings.seed,
      })
    ) {
      if (event.type === "snapshot") snapshots.push(event);
      else if (event.type === "done") {
        trainMs = event.trainMs;
        readbacks = event.readbacks;
      } else if (event.type === "epoch") {
        history.push(event);
        progressBar.value = (event.epoch + 1) / settings.epochs;
        statusLine.textContent = `Epoch ${event.epoch + 1}/${settings.epochs}: lr ` +
          `${event.lr.toFixed(5)}, loss ${event.loss.toFixed(4)}, accuracy ` +
          `${event.accuracy?.toFixed(3)}, ${event.snapshotsTaken} snapshots`;
        if (performance.now() - painted > 50) {
          await nextFrame();
          painted = performance.now();
        }
      }
    }

    const curve = ensembleSizeCurve(snapshots, { x: test.x, y: test.y, direction: "backward" });
    const byIndex = ensembleSizeCurve(snapshots, { x: test.x, y: test.y, direction: "forward" });
    const singleMean = curve.reduce((a, p) => a + p.singleAccuracy, 0) / curve.length;
    const all = curve[curve.length - 1];
    statusLine.textContent = `Trained for ${settings.epochs} epochs in ${trainMs.toFixed(0)} ms ` +
      `(${readbacks} readbacks): ${snapshots.length} snapshots; mean single snapshot ` +
      `${singleMean.toFixed(3)}, ensemble of all ${all.members}: ${
        all.ensembleAccuracy.toFixed(3)
      } test accuracy.`;
    table.textContent = curve.map((p) =>
      `> ${p.members}: single=${p.singleAccuracy.toFixed(3)}, ` +
      `ensemble=${p.ensembleAccuracy.toFixed(3)}`
    ).join("\n");

    // The charts come from the schedule, snapshots and curve that the run above used.
    const stepsPerEpoch = Math.ceil(data.n / BATCH);
    await draw(
      "lr-chart",
      lrScheduleChart({
        schedule: perEpoch(stepsPerEpoch)(schedule),
        totalSteps: settings.epochs * stepsPerEpoch,
        snapshots,
      }),
    );
    await draw(
      "blobs-chart",
      blobsScatterChart({
        x: test.x,
        y: test.y,
        nFeatures: 2,
        predictor: ensemble(snapshots),
        title: "Test blobs and the ensemble's decision regions",
      }),
    );
    await draw("size-chart", ensembleSizeChart(curve));
    await draw("curve-chart", learningCurveChart(history));

    setResult({
      status: "done",
      backend: backend.kind,
      adapter: backend.adapter,
      fallback: opened.fallback,
      epochs: settings.epochs,
      cycles: settings.cycles,
      lrMax: settings.lrMax,
      seed: settings.seed,
      trainMs,
      readbacks,
      snapshots: snapshots.map((s, i) => ({
        index: s.index,
        epoch: s.epoch,
        step: s.step,
        lr: s.lr,
        testAccuracy: byIndex[i].singleAccuracy,
      })),
      ensemble: curve.map((p) => ({ members: p.members, testAccuracy: p.ensembleAccuracy })),
      singleMean,
    });
  } catch (error) {
    errorBox.textContent = message(error);
    errorBox.hidden = false;
    statusLine.textContent = "Training failed.";
    console.error(error);
    setResult({ status: "error", error: message(error) });
  } finally {
    backend?.dispose();
    runButton.disabled = false;
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  void run();
});
presetFromQuery();
void run();
