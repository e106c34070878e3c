/**
 * Grades a run with the suite's own `results.mjs` and sums it up per group, beside the project's list
 * of expected failures. Pure functions over the suite's data: nothing here runs a test.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIGURATIONS, type Configuration } from "./configurations.js";
import type { Grade, GradeName, Grading, RawResult, SuiteGroup, SuiteTest, TestKind } from "./suite.js";

/** One entry of `expected-failures.json`: a required test the session is known to fail, and why. */
export interface ExpectedFailure {
  readonly id: string;
  readonly reason: string;
  /** The configurations it fails in; every configuration when left out. */
  readonly configurations?: readonly Configuration["name"][];
}

/**
 * Reads `expected-failures.json`: `{ "failures": [{ "id", "reason", "configurations"? }] }`. Throws a
 * `TypeError` naming the entry that is malformed: no id, an empty reason, an unknown configuration,
 * or the same test listed twice for one configuration.
 */
export function parseExpectedFailures(text: string, configurations: readonly string[]): readonly ExpectedFailure[] {
  const data: unknown = JSON.parse(text);
  const failures = (data as { failures?: unknown } | null)?.failures;
  if (!Array.isArray(failures)) {
    throw new TypeError('expected failures must be an object with a "failures" array');
  }
  const seen = new Set<string>();
  return failures.map((entry: unknown, index): ExpectedFailure => {
    const where = `expected failure #${index + 1}`;
    if (typeof entry !== "object" || entry === null) throw new TypeError(`${where} must be an object`);
    const { id, reason, configurations: names, ...rest } = entry as Record<string, unknown>;
    const extra = Object.keys(rest).filter((key) => !key.startsWith("$"));
    if (extra.length > 0) {
      throw new TypeError(`${where} has unknown fields ${extra.join(", ")}; expected id, reason, configurations`);
    }
    if (typeof id !== "string" || id === "") throw new TypeError(`${where} must have a test id`);
    if (typeof reason !== "string" || reason.trim() === "") {
      throw new TypeError(`${where} (${id}) must give a reason`);
    }
    if (names !== undefined) {
      if (!Array.isArray(names) || names.length === 0) {
        throw new TypeError(`${where} (${id}): configurations must be a non-empty array, or left out for all`);
      }
      for (const name of names) {
        if (!configurations.includes(name as string)) {
          throw new TypeError(`${where} (${id}): no configuration "${name}"; expected ${configurations.join(", ")}`);
        }
      }
    }
    for (const name of (names as string[] | undefined) ?? configurations) {
      const pair = `${id} ${name}`;
      if (seen.has(pair)) throw new TypeError(`${where}: ${id} is listed twice for ${name}`);
      seen.add(pair);
    }
    return names === undefined ? { id, reason } : { id, reason, configurations: names as Configuration["name"][] };
  });
}

/** The checked-in list of required tests the session is known to fail, each with its reason. */
export const EXPECTED_FAILURES_FILE = join(dirname(fileURLToPath(import.meta.url)), "expected-failures.json");

/** Reads and checks {@link EXPECTED_FAILURES_FILE}. */
export function loadExpectedFailures(path = EXPECTED_FAILURES_FILE): readonly ExpectedFailure[] {
  return parseExpectedFailures(
    readFileSync(path, "utf8"),
    CONFIGURATIONS.map((configuration) => configuration.name),
  );
}

/** The expected failures of one configuration, by test id. */
export function expectedFor(
  failures: readonly ExpectedFailure[],
  configuration: Configuration["name"],
): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const failure of failures) {
    if (failure.configurations === undefined || failure.configurations.includes(configuration)) {
      map.set(failure.id, failure.reason);
    }
  }
  return map;
}

/**
 * The tests `runTests` runs for this value of `browserCache`: it leaves out `browser_only` tests
 * from proxy-style runs, and `cdn_only` and `browser_skip` tests from browser-style ones.
 */
export function selectedTests(groups: readonly SuiteGroup[], browserCache: boolean): SuiteTest[] {
  return groups.flatMap((group) =>
    group.tests.filter((test) => {
      if (test.browser_only === true && !browserCache) return false;
      if (test.cdn_only === true && browserCache) return false;
      return !(test.browser_skip === true && browserCache);
    }),
  );
}

/** A test's kind; the suite reads a missing kind as `required`. */
export function kindOf(test: SuiteTest): TestKind {
  return test.kind ?? "required";
}

/** Counts for one group, or for the whole run. */
export interface Tally {
  /** Required and optimal tests: the ones the suite grades pass or fail. */
  graded: number;
  /** Graded tests that pass on their own result. */
  passed: number;
  required: { total: number; passed: number };
  optimal: { total: number; passed: number };
  checks: { total: number; yes: number };
  /** Graded tests that pass with dependencies honoured, as cache-tests.fyi publishes. */
  passedWithDependencies: number;
  /** Tests graded neither pass nor fail on their own result: setup, harness, retry, untested. */
  notRun: number;
}

function emptyTally(): Tally {
  return {
    graded: 0,
    passed: 0,
    required: { total: 0, passed: 0 },
    optimal: { total: 0, passed: 0 },
    checks: { total: 0, yes: 0 },
    passedWithDependencies: 0,
    notRun: 0,
  };
}

/** A required test that did not pass, with what the suite said. */
export interface Failure {
  readonly id: string;
  readonly group: string;
  readonly grade: GradeName;
  readonly message: string;
  /** The project's reason, when the failure is on the expected list. */
  readonly reason: string | undefined;
}

/** A graded run. */
export interface Summary {
  readonly configuration: Configuration["name"];
  /** The suite's test set: browser-style (`true`) or proxy-style. */
  readonly browserCache: boolean;
  readonly groups: readonly { readonly id: string; readonly name: string; readonly tally: Tally }[];
  readonly total: Tally;
  /** Required tests that did not pass on their own result, expected or not. */
  readonly failures: readonly Failure[];
  /** Expected failures that passed: entries to take off the list. */
  readonly fixed: readonly string[];
  /** Expected failures that this run did not select (a test id the suite no longer has, or runs elsewhere). */
  readonly unknown: readonly string[];
}

const NOT_RUN: readonly GradeName[] = ["setup_fail", "harness_fail", "retry", "untested"];

/** The name of a grade, found by identity among the suite's `resultTypes`. */
export function gradeName(grading: Grading, grade: Grade): GradeName {
  for (const [name, value] of Object.entries(grading.resultTypes)) {
    if (value === grade) return name as GradeName;
  }
  throw new Error(`results.mjs returned a grade that is not one of its resultTypes: ${JSON.stringify(grade)}`);
}

/**
 * Grades every test the run selected with `determineTestResult`, twice: on each test's own result
 * (the pass counts, and what the run enforces) and with dependencies honoured (as cache-tests.fyi
 * publishes: a test whose dependency did not pass is graded `dependency_fail`, whatever it did). A
 * required test fails the run when its own grade is anything but a pass and it is not expected.
 */
export function summarise(
  groups: readonly SuiteGroup[],
  results: Readonly<Record<string, RawResult>>,
  grading: Grading,
  configuration: Configuration,
  expected: ReadonlyMap<string, string>,
): Summary {
  const selected = new Set(selectedTests(groups, configuration.browserCache).map((test) => test.id));
  const total = emptyTally();
  const failures: Failure[] = [];
  const fixed: string[] = [];
  const summaries = groups.map((group) => {
    const tally = emptyTally();
    for (const test of group.tests) {
      if (!selected.has(test.id)) continue;
      const own = gradeName(grading, grading.determineTestResult(groups, test.id, results, false));
      const published = gradeName(grading, grading.determineTestResult(groups, test.id, results, true));
      const kind = kindOf(test);
      for (const t of [tally, total]) count(t, kind, own, published);
      if (kind !== "required") continue;
      if (own === "pass") {
        if (expected.has(test.id)) fixed.push(test.id);
      } else {
        const result = results[test.id];
        const message = result === undefined ? "no result" : result === true ? "" : `${result[0]}: ${result[1]}`;
        failures.push({ id: test.id, group: group.id, grade: own, message, reason: expected.get(test.id) });
      }
    }
    return { id: group.id, name: group.name, tally };
  });
  const unknown = [...expected.keys()].filter((id) => !selected.has(id));
  const { browserCache } = configuration;
  return { configuration: configuration.name, browserCache, groups: summaries, total, failures, fixed, unknown };
}

function count(tally: Tally, kind: TestKind, own: GradeName, published: GradeName): void {
  if (NOT_RUN.includes(own)) tally.notRun++;
  switch (kind) {
    case "required":
    case "optimal":
      tally.graded++;
      tally[kind].total++;
      if (own === "pass") {
        tally.passed++;
        tally[kind].passed++;
      }
      if (published === "pass") tally.passedWithDependencies++;
      return;
    case "check":
      tally.checks.total++;
      if (own === "yes") tally.checks.yes++;
      return;
    default: {
      const never: never = kind;
      throw new Error(`unknown test kind ${String(never)}`);
    }
  }
}

/** Required failures that are not on the expected list: the ones that fail the run. */
export function unexpectedFailures(summary: Summary): readonly Failure[] {
  return summary.failures.filter((failure) => failure.reason === undefined);
}
