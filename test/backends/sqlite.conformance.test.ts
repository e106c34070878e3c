import { join } from "node:path";
import { SQLiteCache } from "../../src/index.js";
import { describeConformance } from "../conformance/suite.js";
import { tempFolder } from "../helpers/temp.js";

let folder = tempFolder();

describeConformance({
  name: "sqlite (file)",
  persistent: true,
  makeCache: async (options) => SQLiteCache.connectWithPath(join(folder.path, "conformance"), options),
  cleanup: async () => {
    folder.remove();
    folder = tempFolder();
  },
});

describeConformance({
  name: "sqlite (in memory)",
  persistent: false,
  makeCache: async (options) => SQLiteCache.connectWithInMemoryDb(options),
});
