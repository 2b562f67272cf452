/** "1 file", "2 files": a count with its noun (plural: the noun + s unless given). */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
