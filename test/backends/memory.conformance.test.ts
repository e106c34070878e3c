import { MemoryCache } from "../../src/index.js";
import { describeAdminConformance } from "../conformance/admin.js";
import { type ConformanceTarget, describeConformance } from "../conformance/suite.js";

const target: ConformanceTarget = {
  name: "memory",
  persistent: false,
  makeCache: async (options) => new MemoryCache(options),
};
describeConformance(target);
describeAdminConformance(target);
