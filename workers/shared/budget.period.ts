/**
 * Budget periods (pure, no clock): a budget's month starts at 00:00 on `resetDay` (1–28) in its
 * IANA `timezone` and ends at the next one. Used by the BudgetCounter Durable Object (its alarm
 * rolls the period over) and by the API's status answers, so both agree on the boundary.
 */

/** Offset of `tz` from UTC at `instant`, in ms (positive east of Greenwich). */
function offsetMs(instant: number, tz: string): number {
  if (tz === 'UTC') return 0;
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The instant of local midnight on (year, month0, day) in `tz` (Date.UTC normalises month -1 / 12). */
function localMidnight(year: number, month0: number, day: number, tz: string): number {
  const wall = Date.UTC(year, month0, day);
  const first = offsetMs(wall, tz);
  const guess = wall - first;
  const second = offsetMs(guess, tz);
  return second === first ? guess : wall - second;
}

export interface BudgetPeriod {
  start: number;
  end: number;
}

/** The period containing `now`. */
export function budgetPeriod(now: number, resetDay: number, tz: string): BudgetPeriod {
  const local = new Date(now + offsetMs(now, tz));
  const year = local.getUTCFullYear();
  let month = local.getUTCMonth();
  if (local.getUTCDate() < resetDay) month -= 1;
  let start = localMidnight(year, month, resetDay, tz);
  // Around a DST jump the local date and the boundary can disagree by an hour: settle it here.
  if (start > now) {
    month -= 1;
    start = localMidnight(year, month, resetDay, tz);
  }
  let end = localMidnight(year, month + 1, resetDay, tz);
  if (end <= now) {
    start = end;
    end = localMidnight(year, month + 2, resetDay, tz);
  }
  return { start, end };
}

/** True when `tz` is an IANA zone the runtime knows. */
export function isKnownTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
