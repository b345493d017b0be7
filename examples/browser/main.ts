/**
 * The demo page's script: trains the tutorial's blobs model in the browser with the library's
 * bundle (by default the command line's `auto`: WebGPU on a hardware adapter, the CPU otherwise;
 * or the backend the form names: WebGPU, WebAssembly on one thread or more, the CPU), shows
 * progress, then the test accuracies as a table, and draws the lr schedule with its snapshot
 * markers, the training and test curves, the test blobs over the ensemble's decision regions and
 * the ensemble-size curve with the library's own chart builders, from the very objects that trained.
 *
 * The configuration is examples/blobs.ts's, so that the page and `deno run examples/blobs.ts --json`
 * report the same accuracies for the same seed (tests/browser_test.ts checks that). The query string
 * presets the form: `?epochs=500&cycles=10&lrMax=0.01&seed=1&backend=auto|webgpu|wasm|cpu&threads=2`.
 * The form is checked in its own words before anything trains.
 *
 * WebAssembly threads are Workers over a shared memory, so they need `SharedArrayBuffer`, which a
 * page has only when cross-origin isolated (tools/serve_demo.ts sends the headers); elsewhere the
 * backend runs one thread, and its description (shown, and in the result) says so. The Workers
 * load the bundled Worker, `dist/snapfold_worker.js`, found beside the library's bundle.
 *
 * The finished run is exposed as `window.__snapfoldResult` (see {@linkcode DemoResult}).
 *
 * `deno task build:browser` compiles this file to dist/demo.js; the library stays external and the
 * page's import map points its package names at dist/snapfold.js and dist/snapfold_plots.js.
 *
 * @module
 */
import {
  type Backend,
  ConfigError,
  cosineAnnealing,
  createBackend,
  createCpuBackend,
  createWebGpuBackend,
  describeAdapter,
  ensemble,
  ensembleSizeCurve,
  type EnsembleSizePoint,
  type EpochEvent,
  mlp,
  type MlpSpec,
  paramCount,
  planAuto,
  sgd,
  type Snapshot,
  train,
  type TrainConfig,
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
import { checkSettings, FORM_LABELS, type Settings } from "./settings.ts";

/** What the page publishes on `window.__snapfoldResult` when a run ends. */
export type DemoResult =
  | {
    readonly status: "done";
    readonly backend: "cpu" | "webgpu" | "wasm";
    /** The backend's description: the WebGPU adapter, or the WebAssembly kernels and threads. */
    readonly adapter: string | null;
    /**
     * Why another backend than the one asked for ran (WebGPU or WebAssembly missing, `auto`'s
     * choice), or why WebAssembly ran fewer threads than asked for.
     */
    readonly fallback: string | null;
    /** The WebAssembly backend's threads as its description tells them; null on the others. */
    readonly threads: number | null;
    /** Whether the page is cross-origin isolated (threads need it). */
    readonly crossOriginIsolated: boolean;
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
    /** Epochs whose test loss and accuracy the learning curves show. */
    readonly testCurvePoints: number;
  }
  | { readonly status: "error"; readonly error: string };

const BATCH = 32;
/**
 * The WebAssembly backend's Worker: `dist/snapfold_worker.js`, beside the library's bundle, which
 * the page's import map names `@snapfold/snapfold`. Inside the bundle the backend cannot find it
 * on its own (its default is the source tree's `_worker.ts`, right under Deno).
 */
const WORKER_URL = new URL("./snapfold_worker.js", import.meta.resolve("@snapfold/snapfold")).href;
/** Epochs between two evaluations of the test set (the test curve's points). */
const REPORT_EVERY = 5;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const form = $<HTMLFormElement>("settings");
const runButton = $<HTMLButtonElement>("run");
const statusLine = $<HTMLElement>("status");
const backendLine = $<HTMLElement>("backend");
const progressBar = $<HTMLProgressElement>("progress");
const errorBox = $<HTMLElement>("error");
const formErrors = $<HTMLElement>("form-errors");
const results = $<HTMLElement>("results");
const tableBody = $<HTMLTableElement>("table").tBodies[0];
const CHARTS = ["lr-chart", "curve-chart", "blobs-chart", "size-chart"];

function setResult(result: DemoResult): void {
  (globalThis as { __snapfoldResult?: DemoResult }).__snapfoldResult = result;
  document.body.dataset.status = result.status;
}

const input = (name: string) => form.elements.namedItem(name) as HTMLInputElement;

/** Marks the fields named in `problems` and lists the problems in the form's words. */
function showFormProblems(problems: ReadonlyArray<{ field: string; message: string }>): void {
  for (const name of Object.keys(FORM_LABELS)) {
    const field = input(name);
    const own = problems.filter((p) => p.field === name).map((p) => p.message);
    field.setCustomValidity(own.join(" "));
    field.setAttribute("aria-invalid", String(own.length > 0));
  }
  formErrors.replaceChildren(...problems.map((p) => {
    const item = document.createElement("li");
    item.textContent = p.message;
    return item;
  }));
  formErrors.hidden = problems.length === 0;
}

/** Presets the form from the query string (unknown names are ignored). */
function presetFromQuery(): void {
  const query = new URLSearchParams(location.search);
  for (const name of [...Object.keys(FORM_LABELS), "backend"]) {
    const given = query.get(name);
    const field = form.elements.namedItem(name) as HTMLInputElement | null;
    if (given !== null && field !== null) field.value = given;
  }
}

/** Threads are the WebAssembly backend's: the field is off for the backends that never run it. */
function syncThreadsField(): void {
  const backend = input("backend").value;
  input("threads").disabled = backend === "cpu" || backend === "webgpu";
}

/**
 * The backend the form asks for; `auto` is the command line's: `createBackend("auto", { model,
 * batchSize })`, whose cost model never probes WebGPU for a model too small to win there. The
 * WebAssembly options (threads, the bundled Worker) go to `wasm` and to `auto`.
 */
async function openBackend(
  settings: Settings,
  model: MlpSpec,
): Promise<{ backend: Backend; fallback: string | null }> {
  const wanted = settings.backend;
  const wasm = { threads: settings.threads, workerUrl: WORKER_URL };
  if (wanted === "cpu") return { backend: createCpuBackend(), fallback: null };
  if (wanted === "wasm") {
    try {
      const backend = await createBackend("wasm", { wasm });
      return { backend, fallback: fewerThreads(backend, settings.threads) };
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      return { backend: createCpuBackend(), fallback: message(error) }; // no WebAssembly SIMD
    }
  }
  if (wanted === "auto") {
    const backend = await createBackend("auto", { model, batchSize: BATCH, wasm });
    if (backend.kind === "webgpu") return { backend, fallback: null };
    if (!planAuto({ model, batchSize: BATCH }).tryWebGpu) {
      return {
        backend,
        fallback: `auto: a small model (${paramCount(model)} parameters) trains faster on the ${
          backend.kind === "wasm" ? "WebAssembly" : "CPU"
        } backend`,
      };
    }
    const adapter = await describeAdapter();
    return {
      backend,
      fallback: adapter === null
        ? "this browser offers no WebGPU adapter"
        : adapter.software
        ? `auto: the WebGPU adapter is a software one (${adapter.description}), slower than the CPU`
        : "auto: the WebGPU adapter gave no device",
    };
  }
  try {
    return { backend: await createWebGpuBackend(), fallback: null };
  } catch (error) {
    return { backend: createCpuBackend(), fallback: message(error) };
  }
}

/** The threads the WebAssembly backend's description says it runs (null for other backends). */
function threadsOf(backend: Backend): number | null {
  if (backend.kind !== "wasm") return null;
  const said = /\b(\d+) threads?\b/.exec(backend.adapter ?? "");
  return said === null ? null : Number(said[1]);
}

/** Why the WebAssembly backend runs fewer threads than asked for, or null. */
function fewerThreads(backend: Backend, asked: number): string | null {
  const ran = threadsOf(backend);
  return ran === null || ran >= asked
    ? null
    : `${asked} threads asked for: this page is not cross-origin isolated`;
}

/** The backend line: which backend, its adapter or threads, and why, when not as asked. */
function describeBackend(backend: Backend, fallback: string | null): string {
  const why = fallback === null ? "" : ` (${fallback})`;
  if (backend.kind === "webgpu") {
    return `Backend: WebGPU on ${backend.adapter}${
      backend.softwareAdapter ? " (software adapter)" : ""
    }`;
  }
  if (backend.kind === "wasm") {
    return `Backend: ${backend.adapter}${fallback === null ? "" : `; ${fallback}`}`;
  }
  return `Backend: CPU${why}`;
}

function message(error: unknown): string {
  if (error instanceof ConfigError) {
    // The library names its options; the page names its fields.
    return error.issues.map((i) => `${FORM_LABELS[i.field] ?? i.field} ${i.message}`).join("\n");
  }
  return error instanceof Error ? error.message : String(error);
}

/** Lets the browser paint: the CPU backend trains synchronously between the trainer's awaits. */
const nextFrame = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function draw(id: string, spec: VegaLiteSpec): Promise<void> {
  $(id).innerHTML = await renderSvg(spec);
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** One row per ensemble size: the n-th last snapshot alone and the ensemble of the last n. */
function fillTable(curve: ReadonlyArray<EnsembleSizePoint>, snapshots: ReadonlyArray<Snapshot>) {
  const best = Math.max(...curve.map((p) => p.ensembleAccuracy));
  tableBody.replaceChildren(...curve.map((p) => {
    const row = document.createElement("tr");
    const snapshot = snapshots.find((s) => s.index === p.singleIndex);
    const cells = [
      String(p.members),
      `${p.singleIndex} (${snapshot === undefined ? "?" : snapshot.epoch + 1})`,
      p.singleAccuracy.toFixed(3),
      p.ensembleAccuracy.toFixed(3),
    ];
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    if (p.ensembleAccuracy === best) row.className = "best";
    return row;
  }));
  results.hidden = false;
}

async function drawCharts(
  config: TrainConfig,
  run: { snapshots: Snapshot[]; history: EpochEvent[]; curve: EnsembleSizePoint[] },
  test: { x: Float32Array; y: Int32Array },
): Promise<void> {
  // The charts come from the config, snapshots and curve that the run above used; the lr and the
  // learning curves both count epochs, and stack in one column so that their axes line up.
  const { snapshots, history, curve } = run;
  await draw("lr-chart", lrScheduleChart({ config, snapshots }));
  await draw(
    "curve-chart",
    learningCurveChart(history, "Training and test curves", { validationName: "test", snapshots }),
  );
  await draw(
    "blobs-chart",
    blobsScatterChart({
      x: test.x,
      y: test.y,
      nFeatures: 2,
      // The chart asks for the grid's classes synchronously: the CPU ensemble's twin.
      predictor: { predict: ensemble(snapshots).predictSync },
      title: "Test blobs and the ensemble's decision regions",
    }),
  );
  await draw("size-chart", ensembleSizeChart(curve));
}

function startRun(): void {
  runButton.disabled = true;
  errorBox.hidden = true;
  results.hidden = true;
  tableBody.replaceChildren();
  for (const id of CHARTS) $(id).textContent = "";
  delete (globalThis as { __snapfoldResult?: DemoResult }).__snapfoldResult;
  document.body.dataset.status = "training";
  progressBar.value = 0;
  statusLine.textContent = "Opening the backend…";
}

async function run(): Promise<void> {
  // A disabled field (threads, for a backend without them) is not the user's to fix.
  const checked = checkSettings(Object.fromEntries(
    [...Object.keys(FORM_LABELS), "backend"].filter((name) => !input(name).disabled)
      .map((name) => [name, input(name).value]),
  ));
  showFormProblems(checked.problems);
  if (checked.settings === undefined) {
    statusLine.textContent = "Fix the highlighted fields, then train.";
    setResult({ status: "error", error: checked.problems.map((p) => p.message).join("\n") });
    return;
  }
  const settings = checked.settings;
  startRun();
  let backend: Backend | undefined;
  try {
    const model = mlp({ layers: [2, 25, 3], activation: "relu", head: "softmax" });
    const opened = await openBackend(settings, model);
    backend = opened.backend;
    backendLine.textContent = describeBackend(backend, opened.fallback);
    backendLine.dataset.backend = backend.kind;

    // The tutorial's data: 1100 points, 3 centers, std 2, randomState 2; first 100 train, 1000 test.
    const { train: data, test } = tutorialData();
    const config: TrainConfig = {
      backend,
      model,
      optimizer: sgd({ momentum: 0.9 }),
      schedule: cosineAnnealing({
        lrMax: settings.lrMax,
        totalSteps: settings.epochs,
        cycles: settings.cycles,
      }),
      lrPer: "epoch",
      epochs: settings.epochs,
      batchSize: BATCH,
      data,
      validation: test,
      reportEvery: REPORT_EVERY,
      seed: settings.seed,
    };

    const snapshots: Snapshot[] = [];
    const history: EpochEvent[] = [];
    let trainMs = 0;
    let readbacks = 0;
    let painted = performance.now();
    for await (const event of train(config)) {
      if (event.type === "snapshot") snapshots.push(event);
      else if (event.type === "done") {
        trainMs = event.trainMs;
        readbacks = event.readbacks;
      } else if (event.type === "epoch") {
        history.push(event);
        progressBar.value = (event.epoch + 1) / settings.epochs;
        statusLine.textContent = `Epoch ${event.epoch + 1} of ${settings.epochs} · lr ` +
          `${event.lr.toPrecision(3)} · loss ${event.loss.toFixed(4)} · accuracy ` +
          `${event.accuracy?.toFixed(3)} · ${event.snapshotsTaken} snapshot` +
          (event.snapshotsTaken === 1 ? "" : "s");
        if (performance.now() - painted > 50) {
          await nextFrame();
          painted = performance.now();
        }
      }
    }

    const scored = { x: test.x, y: test.y, backend };
    const curve = await ensembleSizeCurve(snapshots, { ...scored, direction: "backward" });
    const byIndex = await ensembleSizeCurve(snapshots, { ...scored, direction: "forward" });
    const singleMean = curve.reduce((a, p) => a + p.singleAccuracy, 0) / curve.length;
    const all = curve[curve.length - 1];
    statusLine.textContent = `Trained ${settings.epochs} epochs in ${seconds(trainMs)}: ` +
      `${snapshots.length} snapshots. The ensemble of all ${all.members} scores ` +
      `${all.ensembleAccuracy.toFixed(3)} on the test points; one snapshot alone, ` +
      `${singleMean.toFixed(3)} on average.`;
    fillTable(curve, snapshots);
    await drawCharts(config, { snapshots, history, curve }, test);

    setResult({
      status: "done",
      backend: backend.kind,
      adapter: backend.adapter,
      fallback: opened.fallback,
      threads: threadsOf(backend),
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
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
      testCurvePoints: history.filter((e) => e.validation !== undefined).length,
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
input("backend").addEventListener("change", syncThreadsField);
presetFromQuery();
syncThreadsField();
void run();
