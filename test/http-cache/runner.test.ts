import { afterAll, describe, expect, it } from "vitest";
import type { FetchFunction } from "../../src/index.js";
import { tempFolder } from "../helpers/temp.js";
import { CONFIGURATIONS, configurationNamed, detectFeatures, withSharedStyle } from "./configurations.js";
import {
  expectedFor,
  kindOf,
  loadExpectedFailures,
  parseExpectedFailures,
  selectedTests,
  summarise,
  unexpectedFailures,
} from "./grading.js";
import { runConfiguration, suiteFetch } from "./run-one.js";
import { loadGrading, loadGroups, type RawResult, suiteAvailable, suiteFolder } from "./suite.js";

const NAMES = CONFIGURATIONS.map((configuration) => configuration.name);

describe("the expected-failures list", () => {
  const failures = loadExpectedFailures();

  it("parses, and every entry names a test and gives a reason", () => {
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.id).not.toBe("");
      expect(failure.reason.trim().length).toBeGreaterThan(20);
    }
  });

  it("is shorter than 12 entries per configuration", () => {
    for (const name of NAMES) expect(expectedFor(failures, name).size).toBeLessThan(12);
  });

  it.skipIf(!suiteAvailable())("lists only required tests that its configurations run", async () => {
    const groups = await loadGroups();
    for (const failure of failures) {
      for (const name of failure.configurations ?? NAMES) {
        const test = selectedTests(groups, configurationNamed(name).browserCache).find((t) => t.id === failure.id);
        expect(test, `${failure.id} in ${name}`).toBeDefined();
        expect(test && kindOf(test), failure.id).toBe("required");
      }
    }
  });
});

describe("parseExpectedFailures", () => {
  const parse = (data: unknown) => () => parseExpectedFailures(JSON.stringify(data), NAMES);

  it("reads entries for every configuration or for some", () => {
    const list = parseExpectedFailures(
      JSON.stringify({
        failures: [
          { id: "a", reason: "because" },
          { id: "b", reason: "because", configurations: ["sqlite-shared"] },
        ],
      }),
      NAMES,
    );
    expect([...expectedFor(list, "memory-private").keys()]).toEqual(["a"]);
    expect([...expectedFor(list, "sqlite-shared").keys()]).toEqual(["a", "b"]);
  });

  it("refuses a list that is malformed, with a message that says what is wrong", () => {
    expect(parse([])).toThrow(new TypeError('expected failures must be an object with a "failures" array'));
    expect(parse({ failures: [{ reason: "x" }] })).toThrow(new TypeError("expected failure #1 must have a test id"));
    expect(parse({ failures: [{ id: "a", reason: " " }] })).toThrow(
      new TypeError("expected failure #1 (a) must give a reason"),
    );
    expect(parse({ failures: [{ id: "a", reason: "r", configurations: ["memory"] }] })).toThrow(
      /no configuration "memory"; expected memory-private, sqlite-private, memory-shared, sqlite-shared/,
    );
    expect(parse({ failures: [{ id: "a", reason: "r", configurations: [] }] })).toThrow(/non-empty array/);
    expect(parse({ failures: [{ id: "a", reason: "r", why: "r" }] })).toThrow(/unknown fields why/);
    expect(
      parse({
        failures: [
          { id: "a", reason: "r" },
          { id: "a", reason: "r", configurations: ["memory-shared"] },
        ],
      }),
    ).toThrow(new TypeError("expected failure #2: a is listed twice for memory-shared"));
  });
});

describe("suiteFetch", () => {
  function recorder() {
    const calls: [string, RequestInit | undefined][] = [];
    const fetch: FetchFunction = async (input, init) => {
      calls.push([String(input), init]);
      return new Response("ok");
    };
    return { calls, fetch };
  }

  it("sends /test/ URLs to the session and everything else to the network", async () => {
    const session = recorder();
    const network = recorder();
    const fetch = suiteFetch(session.fetch, network.fetch, configurationNamed("memory-private"));
    await fetch("http://127.0.0.1:1/test/abc?x=1", { method: "GET" });
    await fetch("http://127.0.0.1:1/config/abc", { method: "PUT" });
    await fetch("http://127.0.0.1:1/state/abc");
    expect(session.calls.map(([url]) => url)).toEqual(["http://127.0.0.1:1/test/abc?x=1"]);
    expect(network.calls.map(([url]) => url)).toEqual([
      "http://127.0.0.1:1/config/abc",
      "http://127.0.0.1:1/state/abc",
    ]);
  });

  it("drops the proxy-style cache: no-store meant for a browser in front, and keeps every other mode", async () => {
    const session = recorder();
    const shared = suiteFetch(session.fetch, recorder().fetch, configurationNamed("sqlite-shared"));
    const headers = [["Cache-Control", "nothing-to-see-here"]] as [string, string][];
    await shared("http://127.0.0.1:1/test/a", { cache: "no-store", headers } as RequestInit);
    await shared("http://127.0.0.1:1/test/b", { cache: "no-cache" } as RequestInit);
    const browser = suiteFetch(session.fetch, recorder().fetch, configurationNamed("memory-private"));
    await browser("http://127.0.0.1:1/test/c", { cache: "no-store" } as RequestInit);
    expect(session.calls.map(([, init]) => init)).toEqual([{ headers }, { cache: "no-cache" }, { cache: "no-store" }]);
  });
});

describe.skipIf(!suiteAvailable())(`the suite at ${suiteFolder()}`, () => {
  it("grades 214 tests in the browser-style set and 265 in the proxy-style one", async () => {
    const groups = await loadGroups();
    const graded = (browserCache: boolean) =>
      selectedTests(groups, browserCache).filter((test) => kindOf(test) !== "check").length;
    expect(graded(true)).toBe(214);
    expect(graded(false)).toBe(265);
  });

  it("summarises with its own results.mjs: passes, expected and unexpected failures, fixed entries", async () => {
    const [groups, grading] = await Promise.all([loadGroups(), loadGrading()]);
    const configuration = configurationNamed("memory-private");
    const selected = selectedTests(groups, true);
    const results: Record<string, RawResult> = Object.fromEntries(selected.map((test) => [test.id, true]));
    results["freshness-max-age-stale"] = ["Assertion", "Response 2 comes from cache"];
    results["vary-star"] = ["Assertion", "Response 2 comes from cache"];
    const expected = new Map([
      ["vary-star", "a reason"],
      ["vary-no-match", "fixed since"],
    ]);
    const summary = summarise(groups, results, grading, configuration, expected);
    expect(summary.total.graded).toBe(214);
    expect(summary.total.passed).toBe(212);
    expect(summary.failures.map((failure) => [failure.id, failure.grade, failure.reason])).toEqual([
      ["freshness-max-age-stale", "fail", undefined],
      ["vary-star", "fail", "a reason"],
    ]);
    expect(unexpectedFailures(summary).map((failure) => failure.id)).toEqual(["freshness-max-age-stale"]);
    expect(summary.fixed).toEqual(["vary-no-match"]);
    // With dependencies honoured, the tests that depend on freshness-max-age-stale fail too.
    expect(summary.total.passedWithDependencies).toBeLessThan(212);
  });

  describe("a run through session.fetch over SQLite, as a shared cache", () => {
    const scratch = tempFolder("requestful-http-cache-");
    afterAll(() => scratch.remove());

    it("reaches the suite's origin through the session, and records a result per test", async () => {
      const only = ["freshness-max-age", "freshness-none", "method-POST"];
      const configuration = withSharedStyle(configurationNamed("sqlite-shared"), "proxy");
      const output = await runConfiguration(configuration, { scratch: scratch.path, concurrency: 3, only });
      expect(Object.keys(output.results).sort()).toEqual([...only].sort());
      expect(output.features).toEqual(detectFeatures());
      // Response 2 comes from the cache: the suite's fetch went through the session.
      expect(output.results["freshness-max-age"]).toBe(true);
    });
  });
});
