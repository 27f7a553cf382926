import { escapeHtml, score } from './report-page.ts';
import { axisPosition, categoryOf, fieldAxis, type FieldAxis } from './sweep-fields.ts';
import { formatTicks, niceTicks } from './charts/ticks.ts';

/**
 * The sweep page's two charts as inline SVG (no script, no font or image to fetch): a trial's
 * config against its validation accuracy, and every trial's validation accuracy per epoch.
 * Every mark carries `data-trial`, so a reader of the markup (and the tests) can tell which
 * trial it is; coordinates are printed with one decimal, so the same sweep gives the same bytes.
 */

/** Both charts' size and plot area (viewBox units): what the tests map values into. */
export const SWEEP_CHART = { width: 760, height: 390, left: 100, right: 660, top: 60, bottom: 330 } as const;

/** Matplotlib's tab10: one colour a trial, in trial order; past ten the colours repeat with a dash pattern. */
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

export interface TrialStyle {
  color: string;
  /** SVG stroke-dasharray; '' for a solid line. */
  dash: string;
}

/** The colour and dash of the trial at `index` in the sweep (its legend entry uses the same). */
export function trialStyle(index: number): TrialStyle {
  return { color: PALETTE[index % PALETTE.length], dash: DASHES[Math.floor(index / PALETTE.length) % DASHES.length] };
}

/** One trial as the config chart sees it. */
export interface ConfigChartTrial {
  trialId: string;
  style: TrialStyle;
  best: boolean;
  /** The varying fields' values, in the order of `fields`. */
  values: readonly unknown[];
  valAccuracy: number;
}

const fixed1 = (value: number) => value.toFixed(1);
const x0 = SWEEP_CHART.left;
const x1 = SWEEP_CHART.right;
const yAt = (t: number) => SWEEP_CHART.bottom - t * (SWEEP_CHART.bottom - SWEEP_CHART.top);
const xAt = (t: number) => x0 + t * (x1 - x0);

/**
 * The two axis lines of a scatter or the curves, set a little outside the plot area, so marks at
 * the extremes of the data are not drawn on them.
 */
const AXIS_GAP = 12;
const frame = () => {
  const [ax, ay] = [x0 - AXIS_GAP, SWEEP_CHART.bottom + AXIS_GAP];
  return `<g class="axes" stroke="#8c959f" stroke-width="1"><line x1="${ax}" y1="${ay}" x2="${x1 + AXIS_GAP}" y2="${ay}"/><line x1="${ax}" y1="${SWEEP_CHART.top - AXIS_GAP}" x2="${ax}" y2="${ay}"/></g>`;
};

type NumericAxis = Extract<FieldAxis, { kind: 'linear' | 'log' }>;

/** The validation-accuracy axis: from the lowest to the highest value shown. */
function accuracyAxis(values: readonly number[]): NumericAxis {
  return { kind: 'linear', field: 'validation accuracy', min: Math.min(...values), max: Math.max(...values) };
}

const axisTitle = (axis: FieldAxis) => (axis.kind === 'log' ? `${axis.field} (log scale)` : axis.field);

/** The labels along an axis: its categories, or its two ends (and the powers of ten between them on a log scale). */
function axisLabels(axis: FieldAxis, format: (value: number) => string = String): { t: number; text: string }[] {
  if (axis.kind === 'categorical') return axis.categories.map((category) => ({ t: axisPosition(axis, category), text: category }));
  if (axis.min === axis.max) return [{ t: 0.5, text: format(axis.min) }];
  const decades: number[] = [];
  if (axis.kind === 'log') {
    for (let k = Math.floor(Math.log10(axis.min)) + 1; 10 ** k < axis.max; k++) decades.push(Number((10 ** k).toPrecision(1)));
  }
  return [axis.min, ...decades.filter((d) => d > axis.min), axis.max].map((value) => ({ t: axisPosition(axis, value), text: format(value) }));
}

function svgOpen(id: string, title: string, description: string): string {
  const { width, height } = SWEEP_CHART;
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${id}-title ${id}-desc">
<title id="${id}-title">${escapeHtml(title)}</title>
<desc id="${id}-desc">${escapeHtml(description)}</desc>`;
}

const strokeOf = (style: TrialStyle, best: boolean) =>
  `stroke="${style.color}" stroke-width="${best ? 3.5 : 1.5}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}${best ? '' : ' stroke-opacity="0.8"'}`;

/** The best trial last, so it is drawn on top. */
const bestLast = <T extends { best: boolean }>(trials: readonly T[]) => [...trials.filter((t) => !t.best), ...trials.filter((t) => t.best)];

/**
 * Config against validation accuracy: a scatter plot when one field varies (the field across,
 * accuracy up), otherwise parallel coordinates (one vertical axis a field, the last axis the
 * accuracy, one line a trial). Undefined when no field varies or no trial has a validation accuracy yet.
 */
export function configChart(fields: readonly string[], trials: readonly ConfigChartTrial[]): string | undefined {
  if (fields.length === 0 || trials.length === 0) return undefined;
  const axes = fields.map((field, i) => fieldAxis(field, trials.map((trial) => trial.values[i])));
  const accuracy = accuracyAxis(trials.map((trial) => trial.valAccuracy));
  return fields.length === 1 ? scatter(axes[0], accuracy, trials) : parallelCoordinates(axes, accuracy, trials);
}

function scatter(axis: FieldAxis, accuracy: NumericAxis, trials: readonly ConfigChartTrial[]): string {
  const { top, bottom } = SWEEP_CHART;
  const xLabels = axisLabels(axis)
    .map(({ t, text }) => `<text x="${fixed1(xAt(t))}" y="${bottom + AXIS_GAP + 18}" text-anchor="middle">${escapeHtml(text)}</text>`)
    .join('\n');
  const yLabels = axisLabels(accuracy, score)
    .map(({ t, text }) => `<text x="${x0 - AXIS_GAP - 6}" y="${fixed1(yAt(t) + 4)}" text-anchor="end">${escapeHtml(text)}</text>`)
    .join('\n');
  const points = bestLast(trials)
    .map((trial) => {
      const cx = xAt(axisPosition(axis, trial.values[0]));
      const cy = yAt(axisPosition(accuracy, trial.valAccuracy));
      return `<circle class="trial${trial.best ? ' best' : ''}" data-trial="${escapeHtml(trial.trialId)}" cx="${fixed1(cx)}" cy="${fixed1(cy)}" r="${trial.best ? 7 : 5}" fill="${trial.style.color}"${trial.best ? ' stroke="#1b1f24" stroke-width="2"' : ''}><title>${escapeHtml(`${trial.trialId}: ${axis.field} ${axisText(axis, trial.values[0])}, validation accuracy ${score(trial.valAccuracy)}`)}</title></circle>`;
    })
    .join('\n');
  return `${svgOpen('config-chart', `${axis.field} against validation accuracy`, `One point per trial: ${axisTitle(axis)} across, validation accuracy up (${score(accuracy.min)} to ${score(accuracy.max)}); the best trial is the larger outlined point.`)}
${frame()}
<g class="labels">
${xLabels}
${yLabels}
<text x="${fixed1((x0 + x1) / 2)}" y="${bottom + AXIS_GAP + 40}" text-anchor="middle" class="axis-title">${escapeHtml(axisTitle(axis))}</text>
<text x="14" y="${fixed1((top + bottom) / 2)}" text-anchor="middle" transform="rotate(-90 14 ${fixed1((top + bottom) / 2)})" class="axis-title">validation accuracy</text>
</g>
${points}
</svg>`;
}

function parallelCoordinates(fieldAxes: readonly FieldAxis[], accuracy: NumericAxis, trials: readonly ConfigChartTrial[]): string {
  const { top, bottom } = SWEEP_CHART;
  const axes = [...fieldAxes, accuracy];
  const axisX = (i: number) => x0 + (i * (x1 - x0)) / (axes.length - 1);
  const axisMarks = axes
    .map((axis, i) => {
      const x = fixed1(axisX(i));
      // Titles alternate between two lines, so neighbours' long names do not run into each other.
      const titleY = top - (i % 2 === 0 ? 14 : 32);
      const labels = axisLabels(axis, axis === accuracy ? score : String)
        .map(({ t, text }) => `<text x="${fixed1(axisX(i) + 6)}" y="${fixed1(yAt(t) + 4)}">${escapeHtml(text)}</text>`)
        .join('');
      return `<g class="axis" data-field="${escapeHtml(axis.field)}"><line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#8c959f"/><text x="${x}" y="${titleY}" text-anchor="middle" class="axis-title">${escapeHtml(axisTitle(axis))}</text>${labels}</g>`;
    })
    .join('\n');
  const lines = bestLast(trials)
    .map((trial) => {
      const ts = [...fieldAxes.map((axis, i) => axisPosition(axis, trial.values[i])), axisPosition(accuracy, trial.valAccuracy)];
      const points = ts.map((t, i) => `${fixed1(axisX(i))},${fixed1(yAt(t))}`).join(' ');
      const summary = [...fieldAxes.map((axis, i) => `${axis.field} ${axisText(axis, trial.values[i])}`), `validation accuracy ${score(trial.valAccuracy)}`].join(', ');
      return `<polyline class="trial${trial.best ? ' best' : ''}" data-trial="${escapeHtml(trial.trialId)}" points="${points}" fill="none" ${strokeOf(trial.style, trial.best)}><title>${escapeHtml(`${trial.trialId}: ${summary}`)}</title></polyline>`;
    })
    .join('\n');
  return `${svgOpen('config-chart', 'Config against validation accuracy (parallel coordinates)', `One line per trial across ${axes.length} vertical axes: ${fieldAxes.map(axisTitle).join(', ')}, then validation accuracy (${score(accuracy.min)} at the bottom to ${score(accuracy.max)} at the top); the best trial is the thick line.`)}
${axisMarks}
${lines}
</svg>`;
}

/** A trial's value as its axis labels it. */
const axisText = (axis: FieldAxis, value: unknown) => (axis.kind === 'categorical' ? categoryOf(value) : String(value));

/** One trial's validation accuracy over epochs: a curve from its history, or the points its rounds left (a stopped trial has no history). */
export interface CurveTrial {
  trialId: string;
  style: TrialStyle;
  best: boolean;
  /** From history.json: [epoch, validation accuracy] per epoch that has one. */
  curve?: readonly (readonly [number, number])[];
  /** From the record's rounds: [epochs trained, validation accuracy] at the end of each round. */
  roundPoints?: readonly (readonly [number, number])[];
}

/** Every trial's validation accuracy per epoch, overlaid; undefined when there is nothing to draw. */
export function learningCurvesChart(trials: readonly CurveTrial[]): string | undefined {
  const all = trials.flatMap((trial) => [...(trial.curve ?? []), ...(trial.roundPoints ?? [])]);
  if (all.length === 0) return undefined;
  const { top, bottom } = SWEEP_CHART;
  const epochs = { min: 1, max: Math.max(1, ...all.map(([epoch]) => epoch)) };
  const accuracy = { min: Math.min(...all.map(([, value]) => value)), max: Math.max(...all.map(([, value]) => value)) };
  const scale = (range: { min: number; max: number }, value: number) => (range.max === range.min ? 0.5 : (value - range.min) / (range.max - range.min));
  const x = (epoch: number) => xAt(scale(epochs, epoch));
  const y = (value: number) => yAt(scale(accuracy, value));

  const epochTicks = niceTicks(epochs.min, epochs.max, 10, true);
  const accuracyTicks = accuracy.max > accuracy.min ? niceTicks(accuracy.min, accuracy.max, 6) : [accuracy.min];
  const grid = [
    ...epochTicks.map((epoch) => `<line x1="${fixed1(x(epoch))}" y1="${top}" x2="${fixed1(x(epoch))}" y2="${bottom}"/>`),
    ...accuracyTicks.map((value) => `<line x1="${x0}" y1="${fixed1(y(value))}" x2="${x1}" y2="${fixed1(y(value))}"/>`),
  ].join('');
  const labels = [
    ...epochTicks.map((epoch) => `<text x="${fixed1(x(epoch))}" y="${bottom + AXIS_GAP + 18}" text-anchor="middle">${epoch}</text>`),
    ...formatTicks(accuracyTicks).map((text, i) => `<text x="${x0 - AXIS_GAP - 6}" y="${fixed1(y(accuracyTicks[i]) + 4)}" text-anchor="end">${text}</text>`),
  ].join('\n');

  const marks = bestLast(trials)
    .map((trial) => {
      const id = escapeHtml(trial.trialId);
      const parts: string[] = [];
      if (trial.curve && trial.curve.length > 0) {
        const points = trial.curve.map(([epoch, value]) => `${fixed1(x(epoch))},${fixed1(y(value))}`).join(' ');
        const last = trial.curve[trial.curve.length - 1];
        parts.push(`<polyline class="curve${trial.best ? ' best' : ''}" data-trial="${id}" points="${points}" fill="none" ${strokeOf(trial.style, trial.best)}><title>${escapeHtml(`${trial.trialId}: validation accuracy ${score(last[1])} after epoch ${last[0]}`)}</title></polyline>`);
      }
      for (const [epoch, value] of trial.roundPoints ?? []) {
        parts.push(`<circle class="round-point" data-trial="${id}" data-epochs="${epoch}" cx="${fixed1(x(epoch))}" cy="${fixed1(y(value))}" r="4.5" fill="${trial.style.color}"><title>${escapeHtml(`${trial.trialId}: validation accuracy ${score(value)} after ${epoch} epoch${epoch === 1 ? '' : 's'} (round result)`)}</title></circle>`);
      }
      return parts.join('\n');
    })
    .filter((part) => part !== '')
    .join('\n');

  return `${svgOpen('curves-chart', 'Validation accuracy per epoch, every trial', `Validation accuracy (${score(accuracy.min)} to ${score(accuracy.max)}) against epoch (1 to ${epochs.max}); a line per trial with a training history, points for the rounds of trials stopped by successive halving; the best trial is the thick line.`)}
<g class="grid" stroke="#eaeef2" stroke-width="1">${grid}</g>
${frame()}
<g class="labels">
${labels}
<text x="${fixed1((x0 + x1) / 2)}" y="${bottom + AXIS_GAP + 40}" text-anchor="middle" class="axis-title">epoch</text>
<text x="14" y="${fixed1((top + bottom) / 2)}" text-anchor="middle" transform="rotate(-90 14 ${fixed1((top + bottom) / 2)})" class="axis-title">validation accuracy</text>
</g>
${marks}
</svg>`;
}
