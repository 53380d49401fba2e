import { RRuleTemporal } from 'rrule-temporal';
import { RECURRENCE_MAX_LENGTH } from './task.entity.js';

const FREQS = ['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'] as const;
const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const BYDAY = /^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/;
const INTEGER = /^[+-]?\d{1,3}$/;

function isRealDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function integers(value: string, min: number, max: number, zero = false): boolean {
  return value.split(',').every((v) => {
    if (!INTEGER.test(v)) return false;
    const n = Number(v);
    return n >= min && n <= max && (zero || n !== 0);
  });
}

/**
 * Checks an RRULE value against the contract's subset (RFC 5545 syntax, these
 * parts only, each at most once, in any order) and returns what is wrong with
 * it, part by part, or an empty list. Whether the rule ever gives a date is
 * decided from the task's due (see the Recurrence section of the contract).
 */
export function recurrenceProblems(rule: string): string[] {
  if (rule.length === 0 || rule.length > RECURRENCE_MAX_LENGTH) {
    return [`must be 1 to ${RECURRENCE_MAX_LENGTH} characters`];
  }
  if (rule.startsWith('RRULE:')) return ['must not start with RRULE: (send the value only)'];
  const parts = new Map<string, string>();
  const problems: string[] = [];
  for (const part of rule.split(';')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (part === '' || value === '') {
      problems.push('has an empty part');
      continue;
    }
    if (parts.has(name)) {
      problems.push(`has ${name} more than once`);
      continue;
    }
    parts.set(name, value);
  }
  const freq = parts.get('FREQ');
  for (const [name, value] of parts) {
    switch (name) {
      case 'FREQ':
        if (!(FREQS as readonly string[]).includes(value))
          problems.push(`FREQ must be one of ${FREQS.join(', ')}`);
        break;
      case 'INTERVAL':
        if (!/^\d{1,3}$/.test(value) || Number(value) < 1)
          problems.push('INTERVAL must be an integer from 1 to 999');
        break;
      case 'BYDAY': {
        const ordinalMax = freq === 'MONTHLY' ? 5 : freq === 'YEARLY' ? 53 : 0;
        for (const day of value.split(',')) {
          const m = BYDAY.exec(day);
          if (!m || (m[1] && !m[2])) {
            problems.push(
              `BYDAY must list weekdays (${WEEKDAYS.join(', ')}), each with an optional ordinal such as 2MO or -1FR`,
            );
            break;
          }
          if (m[2] !== undefined) {
            const n = Number(m[2]);
            if (ordinalMax === 0) {
              problems.push('BYDAY may have an ordinal (2MO, -1FR) only when FREQ is MONTHLY or YEARLY');
              break;
            }
            if (n < 1 || n > ordinalMax) {
              problems.push(`BYDAY ordinals must be ±1 to ±${ordinalMax} when FREQ is ${freq}`);
              break;
            }
          }
        }
        break;
      }
      case 'BYMONTHDAY':
        if (!integers(value, -31, 31)) problems.push('BYMONTHDAY must list days from 1 to 31 or -31 to -1');
        break;
      case 'BYMONTH':
        if (!integers(value, 1, 12)) problems.push('BYMONTH must list months from 1 to 12');
        break;
      case 'UNTIL': {
        const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
        if (!m || !isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))) {
          problems.push('UNTIL must be a date, YYYYMMDD');
        }
        break;
      }
      case 'WKST':
        if (!WEEKDAYS.includes(value)) problems.push(`WKST must be one of ${WEEKDAYS.join(', ')}`);
        break;
      default:
        problems.push(
          `has an unsupported part ${name} (allowed: FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, UNTIL, WKST, upper-case)`,
        );
    }
  }
  if (freq === undefined) problems.push('must have FREQ');
  return problems;
}

/** How many periods (FREQ × INTERVAL) from the due a rule may go without a date before it is refused. */
export const RECURRENCE_PERIODS = 1000;

/**
 * Whether a valid rule (no problems above) gives a date in its first
 * RECURRENCE_PERIODS periods from `dueDate` (YYYY-MM-DD), UNTIL left aside,
 * as the contract's Recurrence section says. rrule-temporal counts periods
 * itself (`maxIterations`) and stops there, so an impossible rule such as
 * FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30 costs tens of milliseconds; rrule 2.8.1
 * spent 12 s of CPU on that one even with UNTIL set 1,000 periods ahead.
 */
export function recurrenceGivesADate(rule: string, dueDate: string): boolean {
  return firstOccurrence(rule, dueDate, () => true) !== null;
}

/** Occurrences are dates up to this one (the contract's dates have four-digit years). */
const LAST_DATE = '9999-12-31';

/**
 * The next occurrence of a valid rule strictly after `dueDate` (YYYY-MM-DD),
 * with that due as DTSTART, as a date; null when there is none within
 * RECURRENCE_PERIODS periods, on or before the rule's UNTIL, or before
 * 10000-01-01 (the task then completes like any other). Occurrences are local
 * dates: the due's time and zone are kept by the caller, so 09:30 in
 * Europe/Berlin stays 09:30 there across daylight-saving changes.
 */
export function nextOccurrence(rule: string, dueDate: string): string | null {
  const until = rule
    .split(';')
    .find((part) => part.startsWith('UNTIL='))
    ?.slice('UNTIL='.length);
  const last = until ? `${until.slice(0, 4)}-${until.slice(4, 6)}-${until.slice(6, 8)}` : LAST_DATE;
  if (dueDate >= last) return null;
  const next = firstOccurrence(rule, dueDate, (date) => date > dueDate);
  return next !== null && next <= last ? next : null;
}

/**
 * The first occurrence that `wanted` accepts, walking from DTSTART = `dueDate`
 * with UNTIL left out (the callers bound it themselves, as dates), for at most
 * RECURRENCE_PERIODS periods and up to the year 9999; null when there is none.
 */
function firstOccurrence(rule: string, dueDate: string, wanted: (date: string) => boolean): string | null {
  const parts = rule.split(';').filter((part) => !part.startsWith('UNTIL='));
  const inItsYear = yearlyOrdinalCheck(parts);
  const recurrence = new RRuleTemporal({
    rruleString: `DTSTART;VALUE=DATE:${dueDate.replaceAll('-', '')}\nRRULE:${parts.join(';')}`,
    maxIterations: RECURRENCE_PERIODS,
  });
  let found = null as string | null;
  try {
    recurrence.all((occurrence) => {
      if (occurrence.year > 9999) return false;
      const date = occurrence.toPlainDate().toString();
      if (!wanted(date) || !inItsYear(date)) return true;
      found = date;
      return false;
    });
  } catch (error) {
    // all() throws once it has gone through maxIterations periods without a date.
    if (error instanceof Error && error.message.startsWith('Maximum iterations')) return null;
    throw error;
  }
  return found;
}

const WEEKDAY_NUMBERS: Record<string, number> = { SU: 0, MO: 1, TU: 2, WE: 3, TH: 4, FR: 5, SA: 6 };
const DAY_MS = 86_400_000;

/**
 * rrule-temporal 2.2.8 lets a YEARLY ordinal that a year does not have run on
 * into the next year: FREQ=YEARLY;BYDAY=53MO from 2026-12-07 gives
 * 2027-01-04, 2028-01-03, 2029-01-01 and 2029-12-31, where RFC 5545 gives only
 * the last (2029 is the first of them with 53 Mondays). It gets ordinals right
 * within BYMONTH and for MONTHLY, and no year lacks a 1st to 52nd weekday, so
 * only ±53 can be wrong: for a YEARLY rule with ordinals and no BYMONTH, this
 * check keeps an occurrence only when it is one of its own year's ordinals.
 */
function yearlyOrdinalCheck(parts: string[]): (date: string) => boolean {
  const byDay = parts.find((part) => part.startsWith('BYDAY='))?.slice('BYDAY='.length);
  if (!parts.includes('FREQ=YEARLY') || parts.some((p) => p.startsWith('BYMONTH=')) || !byDay)
    return () => true;
  const tokens = byDay.split(',').map((token) => {
    const m = /^([+-]?\d{1,2})?([A-Z]{2})$/.exec(token)!;
    return { n: m[1] === undefined ? 0 : Number(m[1]), weekday: WEEKDAY_NUMBERS[m[2]] };
  });
  if (tokens.every((token) => token.n === 0)) return () => true;
  return (date) => {
    const year = Number(date.slice(0, 4));
    const time = Date.parse(`${date}T00:00:00Z`);
    return tokens.some(({ n, weekday }) => {
      if (new Date(time).getUTCDay() !== weekday) return false;
      if (n === 0) return true;
      const start = Date.UTC(year, 0, 1);
      const end = Date.UTC(year, 11, 31);
      const nth =
        n > 0
          ? start + (((weekday - new Date(start).getUTCDay() + 7) % 7) + 7 * (n - 1)) * DAY_MS
          : end - (((new Date(end).getUTCDay() - weekday + 7) % 7) + 7 * (-n - 1)) * DAY_MS;
      return nth === time;
    });
  };
}
