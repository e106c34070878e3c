/** The multi-process conformance test on PostgreSQL, each run in a schema of its own. */
import { describeProcessConformance } from "../conformance/processes.js";
import { dropSchema, POSTGRES_URL, postgresUnavailable, testSchema } from "../helpers/postgres.js";

const skip = await postgresUnavailable();
const schema = testSchema("processes");

describeProcessConformance({
  name: "postgres",
  skip,
  // A generous deadline: row locks held by the other workers are waits, not a server that hangs.
  location: async () => ({ value: POSTGRES_URL, options: { schema, timeout: 10_000, poolSize: 4 } }),
  cleanup: () => dropSchema(schema),
});
