import type { Readable, Writable } from "node:stream";

/** A stream that may be a terminal. */
export type Output = Writable & { isTTY?: boolean; columns?: number };

/** Where the command line reads and writes, and what it knows of its surroundings. */
export interface Terminal {
  stdout: Output;
  stderr: Output;
  stdin: Readable & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

/** Colour on a terminal only, and never with `NO_COLOR` set to anything (https://no-color.org). */
export function colourOn(output: Output, env: Terminal["env"]): boolean {
  return output.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === "") && env.TERM !== "dumb";
}

/** Writes text, waiting while the stream is full, so that a large listing never piles up in memory. */
export async function write(output: Output, text: string): Promise<void> {
  if (output.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      output.off("drain", done);
      output.off("error", done);
      output.off("close", done);
      if (error) reject(error);
      else resolve();
    };
    output.once("drain", done);
    output.once("error", done);
    output.once("close", done);
  });
}

/** A user's mistake on the command line: exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Something was found wrong or a command failed, already reported: exit status 1. */
export class Failure extends Error {
  override name = "Failure";
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C, as shells report a process ended by SIGINT. */
export const EXIT_INTERRUPTED = 130;
