/** The multi-process conformance test on one SQLite file, which must pass its integrity check afterwards. */
import { join } from "node:path";
import { expect } from "vitest";
import type { SQLiteCache } from "../../src/index.js";
import { describeProcessConformance } from "../conformance/processes.js";
import { tempFolder } from "../helpers/temp.js";

const folder = tempFolder();

describeProcessConformance({
  name: "sqlite (file)",
  location: async () => ({ value: join(folder.path, "shared.sqlite"), options: {} }),
  cleanup: async () => folder.remove(),
  verify: async (cache) => {
    expect((cache as SQLiteCache).connection.pragma("integrity_check", { simple: true })).toBe("ok");
  },
});
