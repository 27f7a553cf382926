/**
 * Evenly spaced "round" tick values (steps of 1, 2, 2.5 or 5 times a power of ten, like
 * matplotlib's AutoLocator) lying inside [min, max], at most maxCount of them.
 */
export function niceTicks(min: number, max: number, maxCount = 6, integerOnly = false): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max < min) {
    throw new RangeError(`invalid tick range ${min}..${max}`);
  }
  if (max === min) return [min];
  const roughStep = (max - min) / Math.max(1, maxCount - 1);
  const magnitude = Math.max(integerOnly ? 1 : 0, 10 ** Math.floor(Math.log10(roughStep)));
  for (const multiple of [1, 2, 2.5, 5, 10, 20]) {
    const step = multiple * magnitude;
    if (integerOnly && !Number.isInteger(step)) continue;
    const first = Math.ceil(min / step - 1e-9);
    const last = Math.floor(max / step + 1e-9);
    if (last - first + 1 <= maxCount) {
      const decimals = tickDecimals(step);
      const ticks: number[] = [];
      // Rounding to the step's decimals removes float noise such as 0.30000000000000004.
      for (let k = first; k <= last; k++) ticks.push(Number((k * step).toFixed(decimals)));
      return ticks;
    }
  }
  return [min, max];
}

/** Decimals needed to print every multiple of step exactly (0.25 -> 2, 5 -> 0). */
export function tickDecimals(step: number): number {
  for (let decimals = 0; decimals < 12; decimals++) {
    const scaled = step * 10 ** decimals;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return decimals;
  }
  return 12;
}

/** Labels for a tick list, all with the same number of decimals. */
export function formatTicks(ticks: readonly number[]): string[] {
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : ticks[0] === 0 ? 1 : Math.abs(ticks[0]);
  const decimals = tickDecimals(Number(step.toPrecision(12)));
  return ticks.map((tick) => tick.toFixed(decimals));
}
