// A CommonJS module: require() of the ESM package, which Node 20.19 and later allow.
import requestful = require("requestful");

const cache = new requestful.MemoryCache();
if (typeof requestful.CachedSession !== "function" || cache.type !== "memory") {
  throw new Error("require('requestful') did not return the package's exports");
}
console.log(`CommonJS: require("requestful") works (${Object.keys(requestful).length} exports)`);
