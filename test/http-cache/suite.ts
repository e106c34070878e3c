/**
 * Where the http-tests/cache-tests suite lives and what the runner uses of it. The suite is not part
 * of the repository: it is read from `../shared/http-cache-tests` beside the repository, or from the
 * folder named by `REQUESTFUL_HTTP_CACHE_TESTS`, and imported as it is.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The environment variable that points the runner at another copy of the suite. */
export const SUITE_ENV = "REQUESTFUL_HTTP_CACHE_TESTS";

/** The repository's root folder. */
export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** How a test is graded: `required` and `optimal` tests pass or fail, a `check` answers yes or no. */
export type TestKind = "required" | "optimal" | "check";

/** One test of the suite, as far as the runner reads it. */
export interface SuiteTest {
  readonly id: string;
  readonly name?: string;
  readonly kind?: TestKind;
  readonly browser_only?: boolean;
  readonly cdn_only?: boolean;
  readonly browser_skip?: boolean;
  readonly depends_on?: readonly string[];
}

/** One group of tests (`cc-freshness`, `vary`, ...). */
export interface SuiteGroup {
  readonly id: string;
  readonly name: string;
  readonly tests: readonly SuiteTest[];
}

/** What the suite records for a test: `true` when it passed, or the error's name and message. */
export type RawResult = true | readonly [name: string, message: string];

/** A grade of `results.mjs`: an icon, a colour and a symbol; compared by identity with `resultTypes`. */
export type Grade = readonly [icon: string, colour: string, symbol: string];

/** The grade names of `results.mjs`. */
export type GradeName =
  | "untested"
  | "pass"
  | "fail"
  | "optional_fail"
  | "yes"
  | "no"
  | "setup_fail"
  | "harness_fail"
  | "dependency_fail"
  | "retry";

/** The suite's own grading (`test-engine/lib/results.mjs`). */
export interface Grading {
  readonly resultTypes: Readonly<Record<GradeName, Grade>>;
  determineTestResult(
    groups: readonly SuiteGroup[],
    testId: string,
    results: Readonly<Record<string, RawResult>>,
    honorDependencies?: boolean,
  ): Grade;
}

/** The suite's client (`test-engine/client/runner.mjs`). */
export interface SuiteClient {
  runTests(groups: readonly SuiteGroup[], browserCache: boolean, baseUrl: string, chunkSize?: number): Promise<void>;
  getResults(): Record<string, RawResult>;
}

/** A request handler of the suite's origin server. */
export type OriginHandler = (pathSegments: string[], request: IncomingMessage, response: ServerResponse) => void;

/** The handlers that `test-engine/server/server.mjs` dispatches to, by the first path segment. */
export interface OriginHandlers {
  readonly config: OriginHandler;
  readonly test: OriginHandler;
  readonly state: OriginHandler;
}

/**
 * The suite's folder: `REQUESTFUL_HTTP_CACHE_TESTS`, or `../shared/http-cache-tests` beside the
 * repository. In a linked git worktree, "the repository" is also the main checkout the worktree
 * belongs to, so a worktree kept elsewhere finds the same suite.
 */
export function suiteFolder(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env[SUITE_ENV];
  if (configured !== undefined && configured !== "") return resolve(configured);
  const beside = resolve(REPOSITORY_ROOT, "../shared/http-cache-tests");
  if (existsSync(beside)) return beside;
  const main = mainCheckout(REPOSITORY_ROOT);
  const besideMain = main === undefined ? undefined : resolve(main, "../shared/http-cache-tests");
  return besideMain !== undefined && existsSync(besideMain) ? besideMain : beside;
}

/** The main checkout of a linked worktree (its `.git` file reads `gitdir: MAIN/.git/worktrees/NAME`). */
function mainCheckout(root: string): string | undefined {
  const dotGit = join(root, ".git");
  if (!existsSync(dotGit) || !statSync(dotGit).isFile()) return undefined;
  const gitdir = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, "utf8"))?.[1]?.trim();
  const marker = gitdir?.lastIndexOf(`${sep}.git${sep}worktrees${sep}`) ?? -1;
  return gitdir === undefined || marker < 0 ? undefined : gitdir.slice(0, marker);
}

/** Whether the suite is where {@link suiteFolder} says, with the files the runner imports. */
export function suiteAvailable(folder = suiteFolder()): boolean {
  return existsSync(join(folder, "tests/index.mjs")) && existsSync(join(folder, "test-engine/client/runner.mjs"));
}

function requireSuite(folder: string): void {
  if (!suiteAvailable(folder)) {
    throw new Error(
      `the http-tests/cache-tests suite is not at ${folder} (expected tests/index.mjs and test-engine/); ` +
        `put it at ../shared/http-cache-tests beside the repository or set ${SUITE_ENV} to its folder`,
    );
  }
}

async function importFrom<T>(folder: string, path: string): Promise<T> {
  return (await import(pathToFileURL(join(folder, path)).href)) as T;
}

/** The test groups of `tests/index.mjs`. */
export async function loadGroups(folder = suiteFolder()): Promise<readonly SuiteGroup[]> {
  requireSuite(folder);
  return (await importFrom<{ default: readonly SuiteGroup[] }>(folder, "tests/index.mjs")).default;
}

/** The suite's grading functions. */
export async function loadGrading(folder = suiteFolder()): Promise<Grading> {
  requireSuite(folder);
  return importFrom<Grading>(folder, "test-engine/lib/results.mjs");
}

/**
 * The suite's client. Its results live in module state, so one process runs one configuration: the
 * runner starts a process per configuration.
 */
export async function loadClient(folder = suiteFolder()): Promise<SuiteClient> {
  requireSuite(folder);
  return importFrom<SuiteClient>(folder, "test-engine/client/runner.mjs");
}

/** The origin server's handlers, imported from `test-engine/server/`. */
export async function loadOriginHandlers(folder = suiteFolder()): Promise<OriginHandlers> {
  requireSuite(folder);
  const load = async (file: string) =>
    (await importFrom<{ default: OriginHandler }>(folder, `test-engine/server/${file}`)).default;
  const [config, test, state] = await Promise.all([
    load("handle-config.mjs"),
    load("handle-test.mjs"),
    load("handle-state.mjs"),
  ]);
  return { config, test, state };
}
