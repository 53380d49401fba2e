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
  const withoutUntil = rule
    .split(';')
    .filter((part) => !part.startsWith('UNTIL='))
    .join(';');
  const recurrence = new RRuleTemporal({
    rruleString: `DTSTART;VALUE=DATE:${dueDate.replaceAll('-', '')}\nRRULE:${withoutUntil}`,
    maxIterations: RECURRENCE_PERIODS,
  });
  try {
    return recurrence.all((_, index) => index < 1).length > 0;
  } catch (error) {
    // all() throws once it has gone through maxIterations periods without a date.
    if (error instanceof Error && error.message.startsWith('Maximum iterations')) return false;
    throw error;
  }
}
