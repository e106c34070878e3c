/**
 * A calendar duration, as an object of units. Years and months follow the calendar (in UTC):
 * one month after 31 January is the last day of February. The other units are fixed lengths.
 *
 * @example { weeks: 2 }
 * @example { months: 1, days: 3 }
 */
export interface CalendarDuration {
  years?: number;
  months?: number;
  weeks?: number;
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  milliseconds?: number;
}

/** How long a cached response stays live: milliseconds, or a calendar duration. */
export type Expire = number | CalendarDuration;

const FIXED_UNITS = {
  weeks: 604_800_000,
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1_000,
  milliseconds: 1,
} as const;

const UNITS = new Set(["years", "months", ...Object.keys(FIXED_UNITS)]);

/** One week: the default expiry of every cache and repository. */
export const DEFAULT_EXPIRE: Expire = { weeks: 1 };

/**
 * The longest expiry that every backend can hold, in milliseconds: 1,000 years (365,243 days, the
 * length of the years 1970 to 2970). A calendar duration is measured from 1970-01-01 against it, so
 * `{ years: 1_000 }` is the longest in years. Longer expiries are refused at construction with a
 * `RangeError`.
 */
export const MAX_EXPIRE = 365_243 * 86_400_000;

/**
 * Checks an expiry given by a user. Throws a `RangeError` naming `option` for a non-finite, zero or
 * negative expiry, or one longer than {@link MAX_EXPIRE}, and a `TypeError` for anything that is not
 * a number or a duration object.
 */
export function validateExpire(value: unknown, option = "expire"): Expire {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`${option} must be a finite number of milliseconds above 0, got ${value}`);
    }
    if (value > MAX_EXPIRE) throw tooLong(option, value);
    return value;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `${option} must be milliseconds or a duration such as { weeks: 2 }, got ${value === null ? "null" : typeof value}`,
    );
  }
  let any = false;
  for (const [unit, amount] of Object.entries(value)) {
    if (!UNITS.has(unit)) {
      throw new TypeError(`${option} has an unknown unit "${unit}"; expected ${[...UNITS].join(", ")}`);
    }
    if (amount === undefined) continue;
    if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0) {
      throw new RangeError(`${option}.${unit} must be a finite number of 0 or more, got ${String(amount)}`);
    }
    if ((unit === "years" || unit === "months") && !Number.isInteger(amount)) {
      throw new RangeError(`${option}.${unit} must be a whole number, got ${amount}`);
    }
    if (amount > 0) any = true;
  }
  if (!any) throw new RangeError(`${option} must be longer than zero, got ${JSON.stringify(value)}`);
  // Measured from 1970; `!(… <= …)` also catches a sum too large to be a date (NaN).
  if (!(addExpire(0, value as CalendarDuration) <= MAX_EXPIRE)) throw tooLong(option, JSON.stringify(value));
  return value as CalendarDuration;
}

function tooLong(option: string, value: unknown): RangeError {
  return new RangeError(
    `${option} must be at most ${MAX_EXPIRE} ms (1,000 years, MAX_EXPIRE), which every backend can store; got ${String(value)}`,
  );
}

/**
 * A function that adds `expire` to an instant, prepared once: a duration without years or months
 * is a fixed number of milliseconds.
 */
export function expiryAdder(expire: Expire): (from: number) => number {
  if (typeof expire === "number") return (from) => from + expire;
  if (!expire.years && !expire.months) {
    const fixed = addExpire(0, expire);
    return (from) => from + fixed;
  }
  return (from) => addExpire(from, expire);
}

/** The instant (epoch milliseconds) that is `expire` after `from`. */
export function addExpire(from: number, expire: Expire): number {
  if (typeof expire === "number") return from + expire;
  let at = from;
  const months = (expire.years ?? 0) * 12 + (expire.months ?? 0);
  if (months !== 0) at = addMonths(at, months);
  for (const [unit, ms] of Object.entries(FIXED_UNITS)) {
    const amount = expire[unit as keyof typeof FIXED_UNITS];
    if (amount) at += amount * ms;
  }
  return at;
}

function addMonths(at: number, months: number): number {
  const date = new Date(at);
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(day, lastDay));
  return date.getTime();
}
