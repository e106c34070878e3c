import { describe, expect, it } from "vitest";
import {
  BytesPayloadHandler,
  defineSettings,
  JSONPayloadHandler,
  MemoryCache,
  PayloadHandlerError,
  StringPayloadHandler,
} from "../../src/index.js";
import { takeCheckedJson } from "../../src/payload/json.js";

const encode = (text: string) => new TextEncoder().encode(text);

describe("StringPayloadHandler", () => {
  const handler = new StringPayloadHandler();

  it("takes text, UTF-8 bytes, an ArrayBuffer and a Response", async () => {
    expect(await handler.serialize("héllo")).toBe("héllo");
    expect(await handler.serialize(encode("héllo"))).toBe("héllo");
    expect(await handler.deserialize(encode("héllo").buffer as ArrayBuffer)).toBe("héllo");
    expect(await handler.deserialize(new Response("from a body 😀"))).toBe("from a body 😀");
  });

  it("refuses bytes that are not UTF-8, and values of other types, saying what it got", async () => {
    await expect(handler.serialize(Uint8Array.from([0xff, 0xfe, 0x00]))).rejects.toThrow(/not valid UTF-8/);
    await expect(handler.serialize(42 as never)).rejects.toThrow(PayloadHandlerError);
    await expect(handler.serialize(42 as never)).rejects.toThrow(/cannot serialize a number \(42\)/);
    await expect(handler.deserialize({ a: 1 } as never)).rejects.toThrow(/cannot deserialize an object \(Object\)/);
  });

  it("reports a body that was already read", async () => {
    const response = new Response("once");
    await response.text();
    await expect(handler.deserialize(response)).rejects.toThrow(/could not read the response body/);
  });
});

describe("BytesPayloadHandler", () => {
  const handler = new BytesPayloadHandler();

  it("returns plain Uint8Arrays from bytes, buffers, text and responses", async () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const fromBuffer = await handler.serialize(Buffer.from(all));
    expect(Object.getPrototypeOf(fromBuffer)).toBe(Uint8Array.prototype);
    expect(Array.from(fromBuffer)).toEqual(Array.from(all));
    expect(Array.from(await handler.deserialize(new Response(all)))).toEqual(Array.from(all));
    expect(Array.from(await handler.serialize("é"))).toEqual([0xc3, 0xa9]);
    expect(Array.from(await handler.deserialize(all.buffer as ArrayBuffer))).toHaveLength(256);
  });

  it("refuses values that are not bytes, text or a response", async () => {
    await expect(handler.serialize([1, 2, 3] as never)).rejects.toThrow(/cannot serialize an array of 3/);
    await expect(handler.deserialize(null as never)).rejects.toThrow(PayloadHandlerError);
  });
});

describe("JSONPayloadHandler", () => {
  const handler = new JSONPayloadHandler();

  it("stores JSON text exactly as given, so a cached body is the origin's body", async () => {
    const text = '{ "b": 1,\n  "a": [1, 2.50] }';
    expect(await handler.serialize(text)).toBe(text);
    expect(await handler.serialize(encode(text))).toBe(text);
    expect(await handler.serialize(new Response(text))).toBe(text);
    expect(await handler.deserialize(text)).toEqual({ b: 1, a: [1, 2.5] });
  });

  it("accepts JSON after a UTF-8 byte-order mark, as Response.json() does, and keeps the bytes as they came", async () => {
    const withMark = Uint8Array.from([0xef, 0xbb, 0xbf, ...encode('{"a":1}')]);
    expect(await new Response(withMark).json()).toEqual({ a: 1 });
    expect(handler.serializeSync(withMark)).toBe('\ufeff{"a":1}');
    expect(await handler.serialize(withMark)).toBe('\ufeff{"a":1}');
    expect(handler.deserializeSync(withMark)).toEqual({ a: 1 });
    expect(await handler.deserialize('\ufeff{"a":1}')).toEqual({ a: 1 });
    expect(await handler.deserialize(new Response(withMark))).toEqual({ a: 1 });
    // Through a repository: the stored payload is the origin's bytes, mark included.
    const cache = new MemoryCache();
    const repo = cache.createRepository(
      defineSettings({ name: "r", fields: ["id"], getKey: () => ["1"], payloadHandler: new JSONPayloadHandler() }),
    );
    await cache.connect();
    const request = new Request("https://api.example.com/r/1");
    expect(await repo.saveResponse({ request, response: new Response(withMark) })).toBe(true);
    expect(await repo.getResponse(request)).toEqual({ a: 1 });
    expect((await repo.getEntry(request))?.payload).toBe('\ufeff{"a":1}');
    // A mark anywhere else is not JSON.
    expect(() => handler.deserializeSync('{"a":\ufeff1}')).toThrow(PayloadHandlerError);
    expect(() => handler.deserializeSync('\ufeff\ufeff{"a":1}')).toThrow(PayloadHandlerError);
  });

  it("keeps the value of bytes it checked for one reader of the same bytes, as Response.json() gives it", async () => {
    for (const text of ['{"a":[1,{"b":"caf\u00e9"}]}', '\ufeff{"a":1}', "[]"]) {
      const bytes = encode(text);
      expect(takeCheckedJson(bytes)).toBeUndefined();
      handler.serializeSync(bytes);
      expect(takeCheckedJson(encode(text))).toBeUndefined(); // other bytes, however equal
      expect(takeCheckedJson(bytes)).toEqual({ value: await new Response(bytes).json() });
      expect(takeCheckedJson(bytes)).toBeUndefined(); // taken once
    }
    const notJson = encode("{");
    expect(() => handler.serializeSync(notJson)).toThrow(PayloadHandlerError);
    expect(takeCheckedJson(notJson)).toBeUndefined();
  });

  it("stringifies values, leaving out undefined properties as JSON.stringify does", async () => {
    expect(await handler.serialize({ id: 1, name: "x", gone: undefined } as never)).toBe('{"id":1,"name":"x"}');
    expect(await handler.serialize([1, "two", null, true])).toBe('[1,"two",null,true]');
    expect(await handler.deserialize({ already: "parsed" })).toEqual({ already: "parsed" });
  });

  it("refuses text that is not JSON, with a preview of it", async () => {
    await expect(handler.serialize("<html>oops</html>")).rejects.toThrow(/not JSON: "<html>oops<\/html>"/);
    await expect(handler.deserialize(new Response("nope"))).rejects.toThrow(PayloadHandlerError);
    await expect(handler.deserialize("")).rejects.toThrow(PayloadHandlerError);
  });

  it("refuses values that JSON cannot represent: functions, symbols, BigInts, non-finite numbers, cycles", async () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const cases: [unknown, RegExp][] = [
      [() => 1, /the payload: a function/],
      [{ nested: { fn() {} } }, /property "fn": a function/],
      [{ id: 10n }, /property "id": a bigint/],
      [Symbol("s"), /a symbol/],
      [{ n: Number.NaN }, /NaN is not a JSON number/],
      [[1, Number.POSITIVE_INFINITY], /Infinity is not a JSON number/],
      [[1, undefined], /undefined is not a JSON value/],
      [undefined, /undefined is not a JSON value/],
      [cycle, /property "self": it refers back to itself/],
    ];
    for (const [value, message] of cases) {
      await expect(handler.serialize(value as never)).rejects.toThrow(PayloadHandlerError);
      await expect(handler.serialize(value as never)).rejects.toThrow(message);
    }
    await expect(handler.deserialize({ id: 10n } as never)).rejects.toThrow(/bigint/);
  });
});

describe("the synchronous forms", () => {
  it("give what the async forms give, and refuse the same input with the same errors", async () => {
    const json = new JSONPayloadHandler();
    expect(json.serializeSync({ a: [1, "x"] })).toBe(await json.serialize({ a: [1, "x"] }));
    expect(json.serializeSync(encode('{"b":2}'))).toBe('{"b":2}');
    expect(json.deserializeSync(encode('{"b":2}'))).toEqual({ b: 2 });
    expect(() => json.serializeSync("not json")).toThrow(PayloadHandlerError);
    expect(() => json.serializeSync({ f: () => 1 } as never)).toThrow(/property "f": a function/);
    expect(() => json.deserializeSync(3 as never)).toThrow(/cannot deserialize a number/);

    const text = new StringPayloadHandler();
    expect(text.deserializeSync(encode("é"))).toBe("é");
    expect(() => text.serializeSync(Uint8Array.from([0xff]))).toThrow(/not valid UTF-8/);

    const bytes = new BytesPayloadHandler();
    expect(Array.from(bytes.serializeSync("é"))).toEqual([0xc3, 0xa9]);
    expect(() => bytes.deserializeSync(7 as never)).toThrow(PayloadHandlerError);
  });
});
