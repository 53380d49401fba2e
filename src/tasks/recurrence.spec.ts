import { nextOccurrence } from './recurrence';

/**
 * The next due of a completed recurring task, each expected date worked out
 * by hand from a calendar (the weekdays are noted where they matter).
 */
describe('nextOccurrence', () => {
  it.each([
    // rule, due, next
    ['FREQ=DAILY', '2026-12-07', '2026-12-08'],
    ['FREQ=DAILY', '2026-12-31', '2027-01-01'],
    ['FREQ=DAILY;INTERVAL=3', '2026-12-30', '2027-01-02'],
    ['FREQ=DAILY', '2027-03-27', '2027-03-28'], // the Sunday clocks go forward in Europe
    ['FREQ=WEEKLY', '2026-12-09', '2026-12-16'], // Wednesday to Wednesday
    ['FREQ=WEEKLY;BYDAY=MO', '2026-12-07', '2026-12-14'], // from a matching Monday
    ['FREQ=WEEKLY;BYDAY=MO', '2026-12-09', '2026-12-14'], // from a Wednesday, which does not match
    ['FREQ=WEEKLY;BYDAY=MO,TH', '2026-12-07', '2026-12-10'], // Monday to Thursday
    ['FREQ=WEEKLY;BYDAY=MO,TH', '2026-12-10', '2026-12-14'], // Thursday to Monday
    ['FREQ=WEEKLY;INTERVAL=2;BYDAY=FR', '2026-12-11', '2026-12-25'],
    // RFC 5545's WKST example: from Tuesday 1997-08-05, every other week on Tuesday and Sunday.
    ['FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=MO', '1997-08-05', '1997-08-10'],
    ['FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU', '1997-08-05', '1997-08-17'],
    ['FREQ=MONTHLY', '2026-12-15', '2027-01-15'],
    ['FREQ=MONTHLY', '2027-01-31', '2027-03-31'], // no 31 February: skipped
    ['FREQ=MONTHLY;BYMONTHDAY=31', '2027-01-31', '2027-03-31'],
    ['FREQ=MONTHLY;BYMONTHDAY=31', '2027-03-31', '2027-05-31'], // no 31 April
    ['FREQ=MONTHLY;BYMONTHDAY=-1', '2027-01-31', '2027-02-28'],
    ['FREQ=MONTHLY;BYMONTHDAY=-1', '2028-01-31', '2028-02-29'], // leap year
    ['FREQ=MONTHLY;BYMONTHDAY=1,15', '2026-12-01', '2026-12-15'],
    ['FREQ=MONTHLY;BYDAY=-1FR', '2026-12-25', '2027-01-29'], // last Fridays of December and January
    ['FREQ=MONTHLY;BYDAY=2MO', '2026-12-14', '2027-01-11'],
    ['FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=10', '2026-12-10', '2027-03-10'],
    ['FREQ=YEARLY', '2026-12-07', '2027-12-07'],
    ['FREQ=YEARLY', '2028-02-29', '2032-02-29'], // 29 February only in leap years
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1', '2027-02-28', '2028-02-29'],
    ['FREQ=YEARLY;BYMONTH=11;BYDAY=4TH', '2026-11-26', '2027-11-25'], // fourth Thursday of November
    ['FREQ=YEARLY;BYDAY=20MO', '2026-12-07', '2027-05-17'], // 2027's first Monday is 4 January
    // rrule-temporal alone gets the next three wrong (see yearlyOrdinalCheck in recurrence.ts).
    ['FREQ=YEARLY;BYDAY=53MO', '2026-12-07', '2029-12-31'], // 2029 starts and ends on a Monday
    ['FREQ=YEARLY;BYDAY=-53MO', '2026-12-07', '2029-01-01'],
    ['FREQ=YEARLY;BYDAY=53TH', '2026-12-31', '2032-12-30'], // 2032 is a leap year that starts on a Thursday
    ['FREQ=YEARLY;BYDAY=53MO,1TU', '2026-12-07', '2027-01-05'], // 2027's first Tuesday
    ['FREQ=YEARLY;BYDAY=-1SU', '2026-12-27', '2027-12-26'],
    ['FREQ=DAILY;UNTIL=20261208', '2026-12-07', '2026-12-08'], // UNTIL is inclusive
  ])('%s from %s is %s', (rule, due, next) => {
    expect(nextOccurrence(rule, due)).toBe(next);
  });

  it.each([
    ['FREQ=DAILY;UNTIL=20261208', '2026-12-08'], // UNTIL reached
    ['FREQ=WEEKLY;UNTIL=20261213', '2026-12-07'], // the next one, 14 December, is past UNTIL
    ['FREQ=DAILY;UNTIL=20261201', '2026-12-07'], // UNTIL already passed
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', '2026-12-07'], // never
    ['FREQ=YEARLY;BYMONTH=3;BYDAY=6MO', '2026-12-07'], // no month has six Mondays
    ['FREQ=YEARLY', '9999-06-01'], // 10000-06-01 is past the last date
    ['FREQ=DAILY', '9999-12-31'],
  ])('%s from %s has no next occurrence', (rule, due) => {
    expect(nextOccurrence(rule, due)).toBeNull();
  });
});
