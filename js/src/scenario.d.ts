/**
 * `@mailroom/channel/scenario`: the runner of the scenario fixtures
 * (`tests/fixtures/<suite>/NAME.json`, format in `tests/SCENARIOS.md`), in
 * Node.js, Deno and workerd. For tests; uses `node:crypto` (workerd: the
 * `nodejs_compat` flag) and no file system (the WIT comes from
 * `dist/wit.js`, written by `npm run build`).
 *
 * Each step calls the component's raw export `interface.function` (jco's
 * value forms, no facade in between) with its arguments converted from the
 * fixtures' JSON form by their WIT types, read from the WIT files copied
 * into `dist/wit.js` by `npm run build`; results are converted back the same
 * way. So the answers are the component's own, in the form every host's
 * runner prints.
 *
 * @module
 */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A scenario fixture (the fields the runner reads). */
export interface Scenario {
  description?: string;
  /** `wasi:clocks/wall-clock.now` gives `clock-start + k` seconds on its k-th call. */
  'clock-start': number;
  /** The splitmix64 seed of `wasi:random/random`. */
  'random-seed': number;
  steps: {
    /** Referenced by later steps as `{{NAME.path}}`. */
    name: string;
    /** `interface.function` of the world's exports, e.g. `use-cases.create`. */
    call: string;
    /** The parameters in WIT order, in the JSON form; strings may hold `{{STEP.path}}`. */
    args: Json[];
    /** The expected result (not read by the runner). */
    expect?: Json;
  }[];
  /** The expected transport (not read by the runner). */
  transport?: Json[];
}

/** One message the recording transport accepted, in the fixtures' form. */
export interface TransportRecord {
  'message-id': string;
  envelope: { 'mail-from': string; 'rcpt-to': string[] };
  /** The message decoded as UTF-8 (invalid sequences replaced by U+FFFD). */
  raw: string;
}

/** What a scenario run gave: compare with the fixture's `expect`s and `transport`. */
export interface ScenarioRun {
  /**
   * Each step's result in the JSON form: `{"ok": value}` / `{"err": value}`
   * for a `result` (`{"ok": null}` for `result<_, E>`); records keyed in
   * WIT order with WIT (kebab-case) names; `option` none as null; a variant
   * `{"case": payload}` or `"case"`; an enum `"case"`; `list<u8>` as
   * `"sha256:<hex>"`; u64 as a Number.
   */
  steps: { name: string; result: Json }[];
  /** Every message the recording transport accepted, in order. */
  transport: TransportRecord[];
}

/**
 * Runs a scenario on a fresh instance of the component with an empty
 * MemoryStore, a RecordingTransport, the fixed clock and the splitmix64
 * stream.
 *
 * @param fixture The fixture's JSON text, or its parsed value.
 * @throws {Error} naming the step, when a step cannot be run: an unknown
 *   call, arguments that do not fit the WIT types, a `{{STEP.path}}` that
 *   names nothing, or a trap. A WIT error is not thrown: it is the step's
 *   `{"err": ...}`.
 */
export function runScenario(fixture: string | Scenario): ScenarioRun;

/** The fixed clock of SCENARIOS.md: `{ seconds: start + k, nanoseconds: 0 }` on the k-th call of `now`. */
export function fixedClock(start: number | bigint): { now(): { seconds: bigint; nanoseconds: number } };

/**
 * splitmix64 seeded with `seed`, wrapping 64-bit (SCENARIOS.md): a
 * RandomSource for createChannel. `getRandomU64` is one draw;
 * `getRandomBytes(n)` takes ceil(n / 8) draws, each little-endian, and
 * keeps the first n bytes.
 */
export function splitmix64(seed: number | bigint): { getRandomU64(): bigint; getRandomBytes(len: bigint | number): Uint8Array };

/**
 * As {@link runScenario}, on the JSPI glue ({@link import('./index.js').createAsyncChannel}'s)
 * over `options.store` (default: an empty MemoryStore), whose methods may
 * return Promises: the same fixtures must give the same results. Needs JSPI
 * (Node.js 24+, Deno, workerd).
 */
export function runScenarioAsync(fixture: string | Scenario, options?: { store?: import('./index.js').AsyncStore }): Promise<ScenarioRun>;

