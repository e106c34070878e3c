import { MemoryCache } from "../../src/index.js";
import { describeAdminConformance } from "../conformance/admin.js";
import { describeSessionModes } from "../conformance/session-modes.js";
import { type ConformanceTarget, describeConformance } from "../conformance/suite.js";

const target: ConformanceTarget = {
  name: "memory",
  persistent: false,
  makeCache: async (options) => new MemoryCache(options),
};

describeConformance(target);
describeSessionModes(target);
describeAdminConformance(target);
