/** `n` rounded to `digits` decimals; -0 comes out as 0 (JSON has one zero, so an output survives a round trip). */
export function roundTo(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f + 0;
}
