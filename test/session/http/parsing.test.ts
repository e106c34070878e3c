import { describe, expect, it } from "vitest";
import {
  ageValue,
  deltaSeconds,
  parseCacheControl,
  parseCdnCacheControl,
  parseHttpDate,
  splitList,
} from "../../../src/session/http/index.js";

describe("parseCacheControl (RFC 9110 §5.6, RFC 9111 §5.2)", () => {
  it("reads tokens and quoted strings, case-insensitive names, first occurrence wins", () => {
    const cc = parseCacheControl('Max-Age=60, no-cache="set-cookie, x", max-age=1, PUBLIC');
    expect(cc.get("max-age")).toBe("60");
    expect(cc.get("no-cache")).toBe("set-cookie, x");
    expect(cc.get("public")).toBeNull();
  });

  it("does not read directives inside a quoted string", () => {
    const cc = parseCacheControl('extension="max-age=3600", max-age=1');
    expect(cc.get("max-age")).toBe("1");
    expect(cc.get("extension")).toBe("max-age=3600");
  });

  it("ignores members that break the grammar", () => {
    expect(parseCacheControl("max-age =3600").has("max-age")).toBe(false);
    expect(parseCacheControl("max-age= 3600").has("max-age")).toBe(false);
    // A single quote is a tchar: the argument is a token, and not delta-seconds.
    expect(deltaSeconds(parseCacheControl("max-age='3600'").get("max-age"))).toBeUndefined();
    expect(parseCacheControl('max-age="3600"').get("max-age")).toBe("3600");
  });

  it("resolves quoted pairs", () => {
    expect(parseCacheControl('x="a\\"b"').get("x")).toBe('a"b');
  });

  it("splits lists outside quotes only", () => {
    expect(splitList(' a , "b,c" ,, d')).toEqual(["a", '"b,c"', "d"]);
  });
});

describe("parseCdnCacheControl (RFC 9213, RFC 8941)", () => {
  it("reads a valid dictionary, ignores a non-integer max-age, and refuses an invalid one whole", () => {
    expect(parseCdnCacheControl("max-age=600, no-store")).toEqual(
      new Map<string, string | null>([
        ["max-age", "600"],
        ["no-store", null],
      ]),
    );
    expect(parseCdnCacheControl('max-age="600"')?.has("max-age")).toBe(false);
    expect(parseCdnCacheControl("max-age=600, &&&&&")).toBeUndefined();
    expect(parseCdnCacheControl(null)).toBeUndefined();
  });
});

describe("deltaSeconds (RFC 9111 §1.2.2)", () => {
  it("takes digits only and caps at 2^31", () => {
    expect(deltaSeconds("003600")).toBe(3600);
    expect(deltaSeconds("3600.5")).toBeUndefined();
    expect(deltaSeconds("-1")).toBeUndefined();
    expect(deltaSeconds("a1")).toBeUndefined();
    expect(deltaSeconds("99999999999")).toBe(2147483648);
    expect(deltaSeconds(null)).toBeUndefined();
  });
});

describe("ageValue (RFC 9111 §5.1)", () => {
  it("takes the first member when it is delta-seconds, and ignores anything else", () => {
    expect(ageValue("0, 7200")).toBe(0);
    expect(ageValue("7200, 0")).toBe(7200);
    expect(ageValue("abc")).toBe(0);
    expect(ageValue("-7200")).toBe(0);
    expect(ageValue("7200.0")).toBe(0);
    expect(ageValue(null)).toBe(0);
  });
});

describe("parseHttpDate (RFC 9110 §5.6.7)", () => {
  const instant = Date.UTC(1994, 10, 6, 8, 49, 37);
  it("reads the three forms", () => {
    expect(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT")).toBe(instant);
    expect(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT")).toBe(instant);
    expect(parseHttpDate("Sun Nov  6 08:49:37 1994")).toBe(instant);
  });

  it("takes a two-digit year more than 50 years ahead as the past century", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseHttpDate("Thursday, 18-Aug-50 02:01:18 GMT", now)).toBe(Date.UTC(2050, 7, 18, 2, 1, 18));
    expect(parseHttpDate("Thursday, 18-Aug-80 02:01:18 GMT", now)).toBe(Date.UTC(1980, 7, 18, 2, 1, 18));
  });

  it("accepts other letter cases", () => {
    expect(parseHttpDate("SUN, 06 NOV 1994 08:49:37 gmt")).toBe(instant);
  });

  it("gives the same answer for a date parsed again, valid or not", () => {
    for (let i = 0; i < 2; i++) {
      expect(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT")).toBe(instant);
      expect(parseHttpDate("Sat, 31 Feb 2024 10:00:00 GMT")).toBeUndefined();
      expect(parseHttpDate(" Sun, 06 Nov 1994 08:49:37 GMT ")).toBe(instant);
      expect(parseHttpDate("Thursday, 18-Aug-80 02:01:18 GMT", Date.UTC(2026, 0, 1))).toBe(
        Date.UTC(1980, 7, 18, 2, 1, 18),
      );
    }
  });

  it.each([
    "Thu, 18 Aug 2050 02:01:18 UTC",
    "Thu, 18 Aug 50 02:01:18 GMT",
    "Thu 18 Aug 2050 02:01:18 GMT",
    "Thu, 18  Aug  2050 02:01:18 GMT",
    "Thu, 18-Aug-2050 02:01:18 GMT",
    "Thu, 18 Aug 2050 02.01.18 GMT",
    "Thu, 18 Aug 2050 2:01:18 GMT",
    "Thu, 31 Feb 2050 02:01:18 GMT",
    "0",
    "",
  ])("refuses %j", (value) => {
    expect(parseHttpDate(value)).toBeUndefined();
  });
});
