import { describe, expect, it } from "vitest";
import { MemoryCache, RequestHandler, type RequestHandlerOptions } from "../../src/index.js";

describe("RequestHandler options", () => {
  it("create refuses an option it does not take, naming the ones it does", () => {
    const options = { cache: new MemoryCache(), cacheCredentialed: true } as RequestHandlerOptions;
    expect(() => RequestHandler.create(options)).toThrow(TypeError);
    expect(() => RequestHandler.create(options)).toThrow(
      /RequestHandler.create has no option "cacheCredentialed"; expected one of cache, payloadHandler, .*credentials.*onRetry, onWait/,
    );
  });

  it("create points statusHandlers to responseHandlers", () => {
    expect(() => RequestHandler.create({ statusHandlers: [] } as RequestHandlerOptions)).toThrow(
      'RequestHandler.create has no option "statusHandlers" (give "responseHandlers" to create)',
    );
  });

  it("the constructor refuses unknown options too, and takes statusHandlers and session", () => {
    expect(() => new RequestHandler({ retries: 3 } as never)).toThrow(
      /the RequestHandler constructor has no option "retries"; expected one of .*statusHandlers, session/,
    );
    expect(() => new RequestHandler({ responseHandlers: [] } as never)).toThrow(/no option "responseHandlers"/);
    expect(new RequestHandler({ statusHandlers: [] }).statusHandlers.size).toBe(0);
  });

  it("refuses hooks that are not functions", () => {
    expect(() => RequestHandler.create({ onRetry: "log" as never })).toThrow("onRetry must be a function, got");
    expect(() => RequestHandler.create({ onWait: 1 as never })).toThrow("onWait must be a function, got");
  });
});
