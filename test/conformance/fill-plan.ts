/** The repository of the cross-process single-flight tests, shared by the test and its workers. */
import { defineSettings } from "../../src/index.js";

/** `/items/ID` keyed by its id. */
export const itemSettings = () =>
  defineSettings({
    name: "items",
    fields: ["id"],
    getKey: ({ method, url }) => (method === "GET" ? [url.pathname.split("/")[2] ?? null] : [null]),
  });
