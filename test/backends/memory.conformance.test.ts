import { MemoryCache } from "../../src/index.js";
import { describeConformance } from "../conformance/suite.js";

describeConformance({
  name: "memory",
  persistent: false,
  makeCache: async (options) => new MemoryCache(options),
});
