/** One origin request per miss across processes sharing one SQLite file. */
import { join } from "node:path";
import { describeFillConformance } from "../conformance/fill.js";
import { tempFolder } from "../helpers/temp.js";

const folder = tempFolder();
let files = 0;

describeFillConformance({
  name: "sqlite (file)",
  location: async () => ({ value: join(folder.path, `fill-${files++}.sqlite`), options: {} }),
  cleanup: async () => folder.remove(),
});
