import { PostgresCache } from "../../src/index.js";
import { describeAdminConformance } from "../conformance/admin.js";
import { describeSessionModes } from "../conformance/session-modes.js";
import { type ConformanceTarget, describeConformance } from "../conformance/suite.js";
import { dropSchema, POSTGRES_URL, postgresUnavailable, testSchema } from "../helpers/postgres.js";

const skip = await postgresUnavailable();
let schema = testSchema();

const target: ConformanceTarget = {
  name: "postgres",
  persistent: true,
  skip,
  makeCache: async (options) => PostgresCache.connect(POSTGRES_URL, { ...options, schema }),
  cleanup: async () => {
    await dropSchema(schema);
    schema = testSchema();
  },
};

describeConformance(target);
describeSessionModes(target);
describeAdminConformance(target);
