/** One origin request per miss across processes sharing one PostgreSQL schema. */
import { describeFillConformance } from "../conformance/fill.js";
import { dropSchema, POSTGRES_URL, postgresUnavailable, testSchema } from "../helpers/postgres.js";

const skip = await postgresUnavailable();
const schemas: string[] = [];

describeFillConformance({
  name: "postgres",
  skip,
  location: async () => {
    const schema = testSchema("fill");
    schemas.push(schema);
    return { value: POSTGRES_URL, options: { schema, timeout: 10_000 } };
  },
  cleanup: async () => {
    for (const schema of schemas) await dropSchema(schema);
  },
});
