import type { ParseArgsConfig } from "node:util";
import type { Context } from "./context.js";

/** One subcommand: its help, its options (beside the global ones) and what it does. */
export interface Command {
  name: string;
  /** One line for the list of commands. */
  summary: string;
  /** The usage lines and the options, for `--help`. */
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** How many positional arguments it takes at most. */
  positionals: number;
  /** Resolves to the exit status. */
  run(context: Context, values: Values, positionals: string[]): Promise<number>;
}

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** The repositories given with `--repository` (repeatable). */
export function repositoryNames(values: Values): string[] | undefined {
  const given = values.repository;
  if (given === undefined) return undefined;
  return (Array.isArray(given) ? given : [given]).map(String);
}

export const REPOSITORY_OPTION = { repository: { type: "string", short: "r", multiple: true } } as const;
