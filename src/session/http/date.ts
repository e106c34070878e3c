/** HTTP-date (RFC 9110 §5.6.7): the preferred IMF-fixdate and the two obsolete forms a recipient must accept. */

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/i;
/** `Sunday, 06-Nov-94 08:49:37 GMT` (rfc850-date) */
const RFC850 =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/i;
/** `Sun Nov  6 08:49:37 1994` (asctime-date) */
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([a-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

/** The last IMF-fixdate parsed, and its instant. */
let lastFixdate: string | undefined;
let lastInstant: number | undefined;

/**
 * The instant, in epoch milliseconds, of an HTTP-date in any of its three forms (RFC 9110 §5.6.7),
 * or `undefined` for anything else (a recipient treats an invalid date as absent or in the past,
 * as the field says). A two-digit rfc850 year more than 50 years ahead is taken as the past century.
 */
export function parseHttpDate(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (value === lastFixdate) return lastInstant;
  const text = value.trim();
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) {
    // An IMF-fixdate does not depend on `now`: the last one is kept (responses close in time share their Date).
    lastInstant = instant(Number(m[3]), m[2], m[1], m[4], m[5], m[6]);
    lastFixdate = value;
    return lastInstant;
  }
  m = RFC850.exec(text);
  if (m !== null) {
    let year = 2000 + Number(m[3]);
    // RFC 9110 §5.6.7: a year more than 50 years in the future is the most recent past one.
    if (year > new Date(now).getUTCFullYear() + 50) year -= 100;
    return instant(year, m[2], m[1], m[4], m[5], m[6]);
  }
  m = ASCTIME.exec(text);
  if (m !== null) return instant(Number(m[6]), m[1], (m[2] as string).trim(), m[3], m[4], m[5]);
  return undefined;
}

function instant(
  year: number,
  monthName: string | undefined,
  day: string | undefined,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
): number | undefined {
  // Names are case-sensitive in the grammar; other cases are accepted, as most recipients do.
  const name = monthName === undefined ? "" : monthName[0]?.toUpperCase() + monthName.slice(1).toLowerCase();
  const month = MONTHS[name];
  if (month === undefined) return undefined;
  const d = Number(day);
  const h = Number(hour);
  const min = Number(minute);
  const s = Number(second);
  if (d < 1 || d > 31 || h > 23 || min > 59 || s > 60) return undefined;
  const time = Date.UTC(year, month, d, h, min, s === 60 ? 59 : s);
  // A day past the end of its month (31 Feb) rolls over in Date.UTC: refuse it.
  return new Date(time).getUTCDate() === d ? time : undefined;
}

/** An instant as an IMF-fixdate (RFC 9110 §5.6.7). */
export function formatHttpDate(time: number): string {
  return new Date(time).toUTCString();
}
