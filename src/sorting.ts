/**
 * Sorting rows of a table by one column: rows without a value always come
 * last, and rows with equal values keep their order.
 */

/** A cell's value to sort by; null when the row has none. */
export type SortValue = string | number | null;

/** Numbers before text, so a column mixing them still reads in order. */
export function compareValues(
  a: NonNullable<SortValue>,
  b: NonNullable<SortValue>
): number {
  if (typeof a === 'number' && typeof b === 'number') {
    return a - b;
  }
  if (typeof a === 'number') {
    return -1;
  }
  if (typeof b === 'number') {
    return 1;
  }
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** `rows` ordered by `key`, ascending or not; rows without a value last. */
export function sortRows<T>(
  rows: readonly T[],
  key: (row: T) => SortValue,
  ascending: boolean
): T[] {
  return rows
    .map((row, index) => ({ row, index, value: key(row) }))
    .sort((a, b) => {
      if (a.value === null || b.value === null) {
        return a.value === b.value
          ? a.index - b.index
          : a.value === null
            ? 1
            : -1;
      }
      const order = compareValues(a.value, b.value);
      return (ascending ? order : -order) || a.index - b.index;
    })
    .map(entry => entry.row);
}
