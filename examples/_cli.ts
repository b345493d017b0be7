/**
 * The examples' one command-line layer: declared flags, `--help`, strict numbers, "did you mean",
 * and every error followed by the usage line. With `--json` a failed run prints nothing on stdout.
 *
 * Values are parsed by hand rather than with `node:util`'s `parseArgs`, because `parseArgs` refuses
 * `--epochs -3` as "ambiguous" instead of saying that the value must be positive.
 *
 * @module
 */

/** One declared flag. */
export type FlagSpec =
  | {
    readonly kind: "int";
    readonly default: number;
    readonly min: number;
    readonly max?: number;
    readonly help: string;
  }
  | {
    readonly kind: "number";
    readonly default: number;
    /** Exclusive lower bound. */
    readonly above: number;
    readonly max?: number;
    readonly help: string;
  }
  | {
    readonly kind: "choice";
    readonly choices: ReadonlyArray<string>;
    readonly default: string;
    readonly help: string;
  }
  | { readonly kind: "path"; readonly help: string; readonly placeholder?: string }
  | { readonly kind: "bool"; readonly help: string };

/** A command's name, summary and flags. */
export interface CliSpec {
  /** The script, e.g. `examples/blobs.ts`. */
  readonly script: string;
  /** One paragraph for `--help`. */
  readonly summary: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
}

type ValueOf<F extends FlagSpec> = F extends { kind: "int" | "number" } ? number
  : F extends { kind: "choice"; choices: ReadonlyArray<infer C> } ? C
  : F extends { kind: "bool" } ? boolean
  : string | undefined;

/** Parsed values, keyed by the flag's camelCase name (`--lr-max` gives `lrMax`). */
export type CliValues<S extends CliSpec> = {
  -readonly [K in keyof S["flags"] as CamelCase<K & string>]: ValueOf<S["flags"][K]>;
};

type CamelCase<S extends string> = S extends `${infer H}-${infer T}`
  ? `${H}${Capitalize<CamelCase<T>>}`
  : S;

/** A bad command line: the message names every problem and ends with the usage line. */
export class CliError extends Error {
  /** The problems, one per bad flag. */
  readonly problems: ReadonlyArray<string>;
  constructor(problems: ReadonlyArray<string>, usage: string) {
    super(`${problems.join("\n")}\n${usage}`);
    this.name = "CliError";
    this.problems = problems;
  }
}

/** The usage line: every flag with its placeholder. */
export function usage(spec: CliSpec): string {
  const parts = Object.entries(spec.flags).map(([name, flag]) => {
    switch (flag.kind) {
      case "bool":
        return `[--${name}]`;
      case "choice":
        return `[--${name} ${flag.choices.join("|")}]`;
      case "path":
        return `[--${name} ${flag.placeholder ?? "DIR"}]`;
      case "int":
      case "number":
        return `[--${name} ${name.toUpperCase().replaceAll("-", "_")}]`;
    }
  });
  return `Usage: deno run ${spec.script} ${parts.join(" ")} [--help]`;
}

/** The `--help` text: the summary, the usage line and one line per flag with its default. */
export function helpText(spec: CliSpec): string {
  const rows = Object.entries(spec.flags).map(([name, flag]) => {
    const fallback = "default" in flag ? ` (default ${flag.default})` : "";
    return `  --${name.padEnd(12)} ${flag.help}${fallback}`;
  });
  return [spec.summary, "", usage(spec), "", ...rows, `  --${"help".padEnd(12)} this text`]
    .join("\n");
}

const INT = /^(0|[1-9][0-9]*)$/;
const NEGATIVE_INT = /^-[1-9][0-9]*$/;
const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The declared flag closest to `name`, when it is close enough to be a typo. */
export function suggest(name: string, known: ReadonlyArray<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = candidate.startsWith(name) && name.length >= 2 ? 0.5 : distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(1, Math.floor((best?.length ?? 0) / 3)) ? best : undefined;
}

function parseValue(name: string, flag: FlagSpec, text: string): [unknown, string | undefined] {
  switch (flag.kind) {
    case "int": {
      const max = flag.max === undefined ? "" : ` and <= ${flag.max}`;
      const rule = `--${name} must be an integer >= ${flag.min}${max}`;
      if (NEGATIVE_INT.test(text) && flag.min >= 0) {
        return [0, `${rule}: got ${text}, a negative number`];
      }
      if (!INT.test(text)) return [0, `${rule} written in plain digits: got "${text}"`];
      const value = Number(text);
      if (
        !Number.isSafeInteger(value) || value < flag.min ||
        (flag.max !== undefined && value > flag.max)
      ) {
        return [0, `${rule}: got ${text}`];
      }
      return [value, undefined];
    }
    case "number": {
      const max = flag.max === undefined ? "" : ` and <= ${flag.max}`;
      const rule = `--${name} must be a decimal number > ${flag.above}${max}`;
      if (!DECIMAL.test(text)) return [0, `${rule} such as 0.1: got "${text}"`];
      const value = Number(text);
      if (!(value > flag.above) || (flag.max !== undefined && value > flag.max)) {
        return [0, `${rule}: got ${text}`];
      }
      return [value, undefined];
    }
    case "choice":
      return flag.choices.includes(text)
        ? [text, undefined]
        : [text, `--${name} must be one of ${flag.choices.join(", ")}: got "${text}"`];
    case "path":
      return text.trim() === ""
        ? [text, `--${name} must name a directory: got an empty string`]
        : [text, undefined];
    case "bool":
      return [true, undefined];
  }
}

/**
 * Parses `args` against `spec`. `--help` and `-h` return `"help"`; every problem (unknown flags with
 * a suggestion, missing or bad values) is collected into one {@linkcode CliError}.
 */
export function parseCli<S extends CliSpec>(
  spec: S,
  args: ReadonlyArray<string>,
): CliValues<S> | "help" {
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    values[camel(name)] = flag.kind === "bool"
      ? false
      : "default" in flag
      ? flag.default
      : undefined;
  }
  const problems: string[] = [];
  const known = Object.keys(spec.flags);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") return "help";
    const match = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    if (match === null) {
      problems.push(`Unexpected argument "${arg}": every option is a --flag`);
      continue;
    }
    const [, name, inline] = match;
    const flag = spec.flags[name];
    if (flag === undefined) {
      const near = suggest(name, known);
      problems.push(
        `Unknown flag --${name}${near === undefined ? "" : `: did you mean --${near}?`}`,
      );
      continue;
    }
    if (flag.kind === "bool") {
      if (inline !== undefined) problems.push(`--${name} takes no value: got "${inline}"`);
      values[camel(name)] = true;
      continue;
    }
    let text = inline;
    if (text === undefined) {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) {
        problems.push(`--${name} needs a value`);
        continue;
      }
      text = next;
      i++;
    }
    const [value, problem] = parseValue(name, flag, text);
    if (problem !== undefined) problems.push(problem);
    else values[camel(name)] = value;
  }
  if (problems.length > 0) throw new CliError(problems, usage(spec));
  return values as CliValues<S>;
}

/** Throws a {@linkcode CliError} for combinations of flags that are wrong together. */
export function refuse(spec: CliSpec, problems: ReadonlyArray<string>): void {
  if (problems.length > 0) throw new CliError(problems, usage(spec));
}

/**
 * Says which Deno flags to add, or what the system refuses, when the run may not write into `dir`,
 * before any training happens: it asks Deno's permissions, then creates the directory and a probe
 * file for real. Saving writes a temporary file and renames it over the target, and Deno's rename
 * needs read access too.
 */
export async function checkWritable(spec: CliSpec, dir: string): Promise<void> {
  const missing: string[] = [];
  for (const name of ["read", "write"] as const) {
    const status = await Deno.permissions.query({ name, path: dir });
    if (status.state !== "granted") missing.push(`--allow-${name}=${dir}`);
  }
  if (missing.length > 0) {
    refuse(spec, [
      `Cannot save to ${dir}: this run may not write there; add ${missing.join(" ")} (for ` +
      `example: deno run --allow-read=${dir} --allow-write=${dir} ${spec.script} --save ${dir})`,
    ]);
  }
  const probe = `${dir}/.snapfold-write-probe-${Deno.pid}`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    refuse(spec, [`Cannot save to ${dir}: the system refuses to write there: ${reason}`]);
  }
}

/**
 * Runs an example's `main`: `--help` prints the help text and exits 0; a {@linkcode CliError} or any
 * other error prints its message (and the usage line) on stderr and exits 1, with nothing on stdout.
 */
export async function runCli<S extends CliSpec>(
  spec: S,
  main: (values: CliValues<S>) => Promise<void>,
): Promise<void> {
  let values: CliValues<S> | "help";
  try {
    values = parseCli(spec, Deno.args);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
  if (values === "help") {
    console.log(helpText(spec));
    return;
  }
  try {
    await main(values);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(error instanceof CliError ? message : `${message}\n${usage(spec)}`);
    Deno.exit(1);
  }
}
