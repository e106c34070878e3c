import { join } from "node:path";
import { SQLiteCache } from "../../src/index.js";
import { describeAdminConformance } from "../conformance/admin.js";
import { describeSessionModes } from "../conformance/session-modes.js";
import { type ConformanceTarget, describeConformance } from "../conformance/suite.js";
import { tempFolder } from "../helpers/temp.js";

let folder = tempFolder();

const file: ConformanceTarget = {
  name: "sqlite (file)",
  persistent: true,
  makeCache: async (options) => SQLiteCache.connectWithPath(join(folder.path, "conformance"), options),
  cleanup: async () => {
    folder.remove();
    folder = tempFolder();
  },
};
describeAdminConformance(file);

const inMemory: ConformanceTarget = {
  name: "sqlite (in memory)",
  persistent: false,
  makeCache: async (options) => SQLiteCache.connectWithInMemoryDb(options),
};
describeConformance(file);
describeSessionModes(file);
describeConformance(inMemory);
describeSessionModes(inMemory);
describeAdminConformance(inMemory);
