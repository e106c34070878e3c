import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CACHE_ENV, DEFAULT_CACHE_PATH } from "../cache/location.js";
import type { Command, Values } from "./command.js";
import { compact } from "./commands/compact.js";
import { ls } from "./commands/ls.js";
import { purge } from "./commands/purge.js";
import { show } from "./commands/show.js";
import { stats } from "./commands/stats.js";
import { exportCommand, importCommand } from "./commands/transfer.js";
import { verify } from "./commands/verify.js";
import { Context } from "./context.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Terminal, UsageError } from "./terminal.js";

export const COMMANDS: readonly Command[] = [stats, ls, show, purge, verify, compact, exportCommand, importCommand];

const GLOBAL_OPTIONS = {
  cache: { type: "string", short: "c" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

const GLOBAL_HELP = `Global options:
  -c, --cache STORE    the store: a path, sqlite:PATH, file:, redis:// or postgres:// URL
                       (default: $${CACHE_ENV}, else ${DEFAULT_CACHE_PATH} in the current folder)
  --json               machine-readable output: one JSON document (NDJSON for ls)
  -h, --help           this help
  -V, --version        the version of requestful

Exit status: 0 ok; 1 something was found wrong, not found, or failed; 2 a usage error
(or a purge of everything refused without a terminal or --yes); 130 stopped by Ctrl-C.
Colour only on a terminal, never with NO_COLOR; progress bars on a terminal only.`;

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `Usage: requestful COMMAND [options]

See, search, purge, verify, compact and move a requestful cache on any backend.

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join("\n")}

Run requestful COMMAND --help for a command's options.

${GLOBAL_HELP}
`;
}

export function version(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

/** The index of the command name: the first argument that is neither an option nor the value of --cache. */
function commandIndex(args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") return i + 1 < args.length ? i + 1 : -1;
    if (arg === "--cache" || arg === "-c") i++;
    else if (!arg.startsWith("-")) return i;
  }
  return -1;
}

/**
 * Runs the command line with these arguments (without `node` and the script), and resolves to the
 * exit status. Output goes to the terminal's streams; nothing here exits the process.
 */
export async function run(args: readonly string[], terminal: Terminal, signal: AbortSignal): Promise<number> {
  const at = commandIndex(args);
  const name = at === -1 ? undefined : args[at];
  const command = COMMANDS.find((candidate) => candidate.name === name);
  const rest = at === -1 ? [...args] : [...args.slice(0, at), ...args.slice(at + 1)];
  if (name === "help") {
    const topic = COMMANDS.find((candidate) => candidate.name === rest.find((arg) => !arg.startsWith("-")));
    terminal.stdout.write(topic === undefined ? mainHelp() : `${topic.help}\n\n${GLOBAL_HELP}\n`);
    return EXIT_OK;
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    if (name !== undefined && command === undefined) {
      throw new UsageError(`unknown command "${name}"; expected one of ${COMMANDS.map((c) => c.name).join(", ")}`);
    }
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...(command?.options ?? {}) },
      allowPositionals: true,
      strict: true,
    }) as { values: Values; positionals: string[] };
    if (parsed.values.version === true) {
      terminal.stdout.write(`requestful ${version()}\n`);
      return EXIT_OK;
    }
    if (parsed.values.help === true || command === undefined) {
      terminal.stdout.write(command === undefined ? mainHelp() : `${command.help}\n\n${GLOBAL_HELP}\n`);
      return command === undefined && parsed.values.help !== true ? EXIT_USAGE : EXIT_OK;
    }
    if (parsed.positionals.length > command.positionals) {
      throw new UsageError(
        `${command.name} takes ${command.positionals === 0 ? "no arguments" : `at most ${command.positionals}`}, ` +
          `got ${parsed.positionals.map((p) => JSON.stringify(p)).join(" ")}`,
      );
    }
  } catch (error) {
    return usage(terminal, error, command);
  }
  const context = new Context(terminal, {
    json: parsed.values.json === true,
    cache: typeof parsed.values.cache === "string" ? parsed.values.cache : undefined,
    signal,
  });
  try {
    return await command.run(context, parsed.values, parsed.positionals);
  } catch (error) {
    if (error instanceof UsageError) return usage(terminal, error, command);
    const message = error instanceof Error ? error.message : String(error);
    terminal.stderr.write(`requestful ${command.name}: ${message}\n`);
    return EXIT_FAILED;
  } finally {
    await context.close().catch(() => {});
  }
}

function usage(terminal: Terminal, error: unknown, command: Command | undefined): number {
  if (!(error instanceof UsageError) && !isParseError(error)) throw error;
  const where = command === undefined ? "requestful" : `requestful ${command.name}`;
  terminal.stderr.write(`${where}: ${(error as Error).message}\nsee ${where} --help\n`);
  return EXIT_USAGE;
}

function isParseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}
