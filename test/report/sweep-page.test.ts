import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SWEEP_CHART } from '../../lib/report/sweep-charts.ts';
import { axisPosition, fieldAxis, varyingFields } from '../../lib/report/sweep-fields.ts';
import { renderSweepPage } from '../../lib/report/sweep-page.ts';
import { RANKING, SweepRecord } from '../../lib/workflow/sweep/sweep-record.ts';
import { halvingHistories, halvingSweep, learningRateSweep, SWEEP_ID, TEST_SET_ID, DATASET_ID } from './sweep-fixture.ts';

/** The text of an HTML fragment: tags dropped, the five escapes undone. */
const text = (html: string) =>
  html
    .replace(/<br>/g, ' ')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();

/** The cells of the row of `trialId` in the table whose class is `tableClass`, as text. */
function rowCells(html: string, tableClass: string, trialId: string): string[] {
  const table = html.match(new RegExp(`<table class="${tableClass}"[^>]*>([\\s\\S]*?)</table>`))?.[1];
  assert.ok(table, `no table.${tableClass}`);
  const row = table.match(new RegExp(`<tr data-trial="${trialId}"[^>]*>(.*?)</tr>`))?.[1];
  assert.ok(row, `no row ${trialId} in table.${tableClass}`);
  return [...row.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/g)].map((cell) => text(cell[1]));
}

/** The SVG of the chart with this id, e.g. config-chart. */
function chart(html: string, id: string): string {
  const svg = html.match(new RegExp(`<svg class="chart"[^>]*aria-labelledby="${id}-title ${id}-desc">[\\s\\S]*?</svg>`))?.[0];
  assert.ok(svg, `no chart ${id}`);
  return svg;
}

/** Every element `tag` in `svg` with its data-trial and one attribute, parsed. */
function marks(svg: string, tag: string, cls: string, attribute: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of svg.matchAll(new RegExp(`<${tag} class="${cls}(?: best)?" data-trial="([^"]+)"[^>]*? ${attribute}="([^"]+)"`, 'g'))) {
    assert.ok(!found.has(m[1]), `${m[1]} drawn twice`);
    found.set(m[1], m[2]);
  }
  return found;
}

const points = (list: string) => list.split(' ').map((pair) => pair.split(',').map(Number) as [number, number]);
const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) <= 0.051, `${what}: ${actual} != ${expected}`);

/** Where a value in [min, max] lands on the plot, worked out here from the chart's box: 0 at the left or bottom. */
const { left, right, top, bottom } = SWEEP_CHART;
const across = (value: number, min: number, max: number) => left + ((value - min) / (max - min)) * (right - left);
const up = (value: number, min: number, max: number) => bottom - ((value - min) / (max - min)) * (bottom - top);

describe('renderSweepPage', () => {
  const record = halvingSweep();
  const html = renderSweepPage(record, halvingHistories(record));

  it('heads the page with the sweep: id, status, dataset, test set, source, ranking, halving, training time and the best trial linked', () => {
    const facts = new Map([...html.matchAll(/<dt>(.*?)<\/dt><dd>(.*?)<\/dd>/g)].map((m) => [text(m[1]), m[2]]));
    assert.equal(text(facts.get('Sweep')!), SWEEP_ID);
    assert.equal(text(facts.get('Status')!), 'complete');
    assert.equal(text(facts.get('Dataset')!), DATASET_ID);
    assert.equal(text(facts.get('Test set')!), TEST_SET_ID);
    assert.equal(text(facts.get('Trials made by')!), 'grid');
    assert.equal(text(facts.get('Ranking')!), RANKING);
    assert.equal(text(facts.get('Successive halving')!), 'keep the best 1/2 after each round; epoch budgets 1, 3');
    // The sum of every round result's seconds, added up here.
    const seconds = record.rounds.flatMap((round) => round.results).reduce((sum, r) => sum + (r.seconds ?? 0), 0);
    assert.equal(text(facts.get('Training time')!), `${seconds.toFixed(1)} s over every trial and round`);
    const best = record.trials.find((t) => t.trialId === 't05')!;
    assert.equal(facts.get('Best trial')!.match(/href="([^"]+)"/)?.[1], '../../runs/sweep-20261203-t05/report/index.html');
    assert.equal(text(facts.get('Best trial')!), `t05 (run sweep-20261203-t05): validation accuracy ${best.valAccuracy!.toFixed(4)}, test accuracy ${best.evaluation!.accuracy.toFixed(4)}`);
  });

  it('has one column per config field that differs between trials, and none for the fields every trial shares', () => {
    const head = html.match(/<table class="trials">[\s\S]*?<thead><tr>(.*?)<\/tr><\/thead>/)![1];
    const columns = [...head.matchAll(/<th[^>]*>(.*?)<\/th>/g)].map((m) => text(m[1]));
    assert.deepEqual(columns, ['Trial', 'learningRate', 'batchSize', 'model.preset', 'Status', 'Epochs', 'Val. accuracy', 'Val. loss', 'Test accuracy', 'Macro F1', 'Seconds']);
  });

  it('puts each trial\'s values from the record in its own row; the best row alone is marked', () => {
    const f4 = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(4));
    for (const trial of record.trials) {
      const config = trial.config as { learningRate: number; batchSize: number; model?: { preset: string } };
      const cells = rowCells(html, 'trials', trial.trialId);
      assert.deepEqual(cells.slice(1, 4), [String(config.learningRate), String(config.batchSize), config.model?.preset ?? 'default'], trial.trialId);
      assert.deepEqual(
        cells.slice(5),
        [String(trial.epochs ?? '–'), f4(trial.valAccuracy), f4(trial.valLoss), f4(trial.evaluation?.accuracy), f4(trial.evaluation?.macroF1), trial.seconds === undefined ? '–' : trial.seconds.toFixed(1)],
        trial.trialId,
      );
    }
    assert.equal(rowCells(html, 'trials', 't05')[0], 't05 best');
    assert.deepEqual([...html.matchAll(/<tr data-trial="(t\d+)" class="[^"]*\bbest\b/g)].map((m) => m[1]), ['t05']);
    assert.equal((html.match(/class="badge"/g) ?? []).length, 1);
    // Completed trials link to their report page; the others have none.
    assert.deepEqual([...html.matchAll(/<th scope="row"><a href="\.\.\/\.\.\/runs\/sweep-20261203-(t\d+)\/report\/index\.html">/g)].map((m) => m[1]), ['t01', 't03', 't05']);
  });

  it('says where a trial stopped, and why one failed (its error escaped)', () => {
    assert.equal(rowCells(html, 'trials', 't02')[4], 'stopped after round 1 of 2');
    assert.equal(rowCells(html, 'trials', 't06')[4], 'stopped after round 1 of 2');
    assert.equal(rowCells(html, 'trials', 't04')[4], 'failed in round 1 of 2 States.TaskFailed: loss became NaN after epoch 1 <diverged>');
    assert.ok(html.includes('&lt;diverged&gt;'));
    assert.equal(rowCells(html, 'trials', 't01')[4], 'complete');
  });

  it('has a table per round, each result with whether the trial went on', () => {
    const captions = [...html.matchAll(/<table class="round" data-round="(\d)">\n<caption>(.*?)<\/caption>/g)].map((m) => [m[1], text(m[2])]);
    assert.deepEqual(captions, [
      ['0', 'Round 1 of 2: 6 trials trained to 1 epoch'],
      ['1', 'Round 2 of 2: 3 trials trained to 3 epochs, then evaluated on the test split'],
    ]);
    const outcome = (trialId: string) => rowCells(html.split('data-round="1"')[0], 'round', trialId).at(-1);
    assert.deepEqual(['t01', 't02', 't03', 't04', 't05', 't06'].map(outcome), ['kept', 'dropped', 'kept', 'failed', 'kept', 'dropped']);
    assert.deepEqual(rowCells(html.split('data-round="1"')[0], 'round', 't03').slice(1, 6), ['trained', '1', '0.7800', '0.6100', '10.0']);
    // One round: no round tables.
    assert.doesNotMatch(renderSweepPage(learningRateSweep(), {}), /<table class="round"/);
  });

  it('draws config against validation accuracy as parallel coordinates: a line per trial with an accuracy, through each axis at its value', () => {
    const svg = chart(html, 'config-chart');
    const lines = marks(svg, 'polyline', 'trial', 'points');
    // t04 failed before any accuracy: not drawn.
    assert.deepEqual([...lines.keys()].sort(), ['t01', 't02', 't03', 't05', 't06']);
    const shown = record.trials.filter((t) => t.valAccuracy !== undefined);
    const accuracies = shown.map((t) => t.valAccuracy!);
    const [accMin, accMax] = [Math.min(...accuracies), Math.max(...accuracies)];
    const rates = shown.map((t) => t.config.learningRate as number);
    // Learning rates from 1e-4 to 1e-2 span two decades: a log axis.
    const lrT = (v: number) => (Math.log10(v) - Math.log10(Math.min(...rates))) / (Math.log10(Math.max(...rates)) - Math.log10(Math.min(...rates)));
    const xs = [0, 1, 2, 3].map((i) => left + (i * (right - left)) / 3);
    for (const trial of shown) {
      const config = trial.config as { learningRate: number; batchSize: number; model?: { preset: string } };
      const expected = [
        bottom - lrT(config.learningRate) * (bottom - top),
        up(config.batchSize, 32, 64),
        // Categories in order: default, then "small".
        config.model?.preset === 'small' ? top : bottom,
        up(trial.valAccuracy!, accMin, accMax),
      ];
      const actual = points(lines.get(trial.trialId)!);
      assert.equal(actual.length, 4);
      actual.forEach(([x, y], i) => {
        near(x, xs[i], `${trial.trialId} axis ${i} x`);
        near(y, expected[i], `${trial.trialId} axis ${i} y`);
      });
    }
    assert.match(svg, /learningRate \(log scale\)/);
    assert.match(svg, /<polyline class="trial best" data-trial="t05"/);
    // The best is drawn last, on top.
    assert.equal([...svg.matchAll(/<polyline class="trial[^"]*" data-trial="(t\d+)"/g)].at(-1)![1], 't05');
  });

  it('draws one varying field as a scatter: a point per trial at (value, validation accuracy)', () => {
    const sweep = learningRateSweep();
    const svg = chart(renderSweepPage(sweep, {}), 'config-chart');
    const xs = marks(svg, 'circle', 'trial', 'cx');
    const ys = marks(svg, 'circle', 'trial', 'cy');
    assert.deepEqual([...xs.keys()].sort(), ['t01', 't02', 't03']);
    const rates = sweep.trials.map((t) => t.config.learningRate as number);
    const accuracies = sweep.trials.map((t) => t.valAccuracy!);
    for (const trial of sweep.trials) {
      // 0.0005 to 0.003 is less than two decades: linear.
      near(Number(xs.get(trial.trialId)), across(trial.config.learningRate as number, Math.min(...rates), Math.max(...rates)), `${trial.trialId} x`);
      near(Number(ys.get(trial.trialId)), up(trial.valAccuracy!, Math.min(...accuracies), Math.max(...accuracies)), `${trial.trialId} y`);
    }
    assert.doesNotMatch(svg, /log scale/);
  });

  it('overlays the learning curves: a line per history, a point per round of a trial without one', () => {
    const histories = halvingHistories(record);
    const svg = chart(html, 'curves-chart');
    const lines = marks(svg, 'polyline', 'curve', 'points');
    assert.deepEqual([...lines.keys()].sort(), Object.keys(histories).sort());
    const plotted = [...Object.values(histories).flatMap((h) => h.map((log) => log.val_accuracy!)), ...['t02', 't06'].map((id) => record.rounds[0].results.find((r) => r.trialId === id)!.valAccuracy!)];
    const [min, max] = [Math.min(...plotted), Math.max(...plotted)];
    for (const [trialId, history] of Object.entries(histories)) {
      const actual = points(lines.get(trialId)!);
      assert.equal(actual.length, history.length);
      actual.forEach(([x, y], i) => {
        near(x, across(history[i].epoch, 1, 3), `${trialId} epoch ${i + 1} x`);
        near(y, up(history[i].val_accuracy!, min, max), `${trialId} epoch ${i + 1} y`);
      });
    }
    const dots = [...svg.matchAll(/<circle class="round-point" data-trial="(t\d+)" data-epochs="(\d+)" cx="([\d.]+)" cy="([\d.]+)"/g)];
    assert.deepEqual(dots.map((m) => m[1]).sort(), ['t02', 't06']);
    for (const [, trialId, epochs, cx, cy] of dots) {
      const result = record.rounds[0].results.find((r) => r.trialId === trialId)!;
      assert.equal(Number(epochs), result.epochs);
      near(Number(cx), across(result.epochs!, 1, 3), `${trialId} x`);
      near(Number(cy), up(result.valAccuracy!, min, max), `${trialId} y`);
    }
    assert.match(svg, /<polyline class="curve best" data-trial="t05"[^>]* stroke-width="3.5"/);
    assert.equal(svg.match(/stroke-width="3.5"/g)?.length, 1);
    // A legend entry per drawn trial, in trial order.
    const legend = html.split('id="curves"')[1].match(/<ul class="legend"[\s\S]*?<\/ul>/)![0];
    assert.deepEqual([...legend.matchAll(/<li data-trial="(t\d+)">/g)].map((m) => m[1]), ['t01', 't02', 't03', 't05', 't06']);
  });

  it('is accessible, self-contained and deterministic: captions, scoped headers, titled SVG, no script or URL, same bytes twice', () => {
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    for (const table of html.match(/<table[^>]*>[\s\S]*?<\/table>/g)!) assert.match(table, /^<table[^>]*>\n<caption>/);
    for (const cell of html.matchAll(/<th( [^>]*)?>/g)) assert.match(cell[0], /scope="(row|col)"/);
    for (const svg of html.match(/<svg class="chart"[^>]*>\n<title id="[^"]+">[^<]+<\/title>\n<desc id="[^"]+">[^<]+<\/desc>/g) ?? []) assert.match(svg, /role="img"/);
    assert.equal((html.match(/<svg class="chart"/g) ?? []).length, 2);
    assert.equal((html.match(/<svg class="chart"[^>]*role="img"[^>]*>\n<title /g) ?? []).length, 2);
    assert.doesNotMatch(html, /<script|<link|https?:\/\/|@import|url\(/i);
    assert.equal(renderSweepPage(halvingSweep(), halvingHistories(halvingSweep())), html);
  });

  it('escapes config values and ids wherever they appear', () => {
    const sweep = learningRateSweep();
    sweep.trials[0].config = { learningRate: 0.003, note: '<img src=x onerror=alert(1)>' };
    const page = renderSweepPage(sweep, {});
    assert.doesNotMatch(page, /<img/);
    assert.ok(page.includes('&lt;img src=x onerror=alert(1)&gt;'));
  });

  it('a running sweep: no best yet, pending trials without figures, charts only of what has a validation accuracy', () => {
    const sweep = SweepRecord.parse({ ...learningRateSweep(), status: 'running', best: null });
    sweep.trials[2] = { trialId: 't03', runId: sweep.trials[2].runId, config: sweep.trials[2].config, status: 'pending' };
    sweep.rounds = [];
    const page = renderSweepPage(sweep, {});
    assert.match(page, /<dt>Best trial<\/dt><dd>not decided yet: the sweep is running<\/dd>/);
    assert.deepEqual(rowCells(page, 'trials', 't03').slice(2), ['pending', '–', '–', '–', '–', '–', '–']);
    assert.equal(marks(chart(page, 'config-chart'), 'circle', 'trial', 'cx').size, 2);
    assert.match(page, /2 of 3 shown/);
    // No rounds and no histories: nothing to draw over epochs.
    assert.match(page, /<h2 id="curves">Learning curves<\/h2>\n<p>No chart: no trial has a validation accuracy yet\.<\/p>/);
  });

  it('past ten trials the colours repeat with a dash pattern, so no two trials are drawn alike', () => {
    const sweep = learningRateSweep();
    const template = sweep.trials[0];
    sweep.trials = Array.from({ length: 12 }, (_, i) => {
      const trialId = `t${String(i + 1).padStart(2, '0')}`;
      return { ...template, trialId, runId: `lr-sweep-${trialId}`, config: { learningRate: 0.001 * (i + 1) }, valAccuracy: 0.8 + i / 100 };
    });
    sweep.best = { trialId: 't12', runId: 'lr-sweep-t12' };
    const page = renderSweepPage(SweepRecord.parse(sweep), {});
    const legend = page.split('id="config-vs-accuracy"')[1].match(/<ul class="legend"[\s\S]*?<\/ul>/)![0];
    const styles = [...legend.matchAll(/<li data-trial="(t\d+)"><svg[^>]*><line [^>]*stroke="([^"]+)" stroke-width="\d"( stroke-dasharray="[^"]+")?/g)].map((m) => `${m[2]}${m[3] ?? ''}`);
    assert.equal(styles.length, 12);
    assert.equal(new Set(styles).size, 12);
  });

  it('with no field that differs, says so instead of drawing', () => {
    const sweep = learningRateSweep();
    for (const trial of sweep.trials) trial.config = { learningRate: 0.001 };
    const page = renderSweepPage(sweep, {});
    assert.match(page, /<p>No chart: no config field differs between the trials\.<\/p>/);
    assert.match(page, /every trial has the same config/);
  });
});

describe('the varying fields and their axes', () => {
  it('a field differs when any trial sets another value or leaves it to the default; nested objects by path, arrays whole', () => {
    const configs = [
      { epochs: 3, model: { preset: 'small', dropout: 0.2 }, layers: [1, 2] },
      { epochs: 3, model: { preset: 'small', dropout: 0.3 }, layers: [1, 2] },
      { epochs: 3, model: { preset: 'small' }, layers: [1, 2], seed: 1 },
    ];
    assert.deepEqual(varyingFields(configs), ['model.dropout', 'seed']);
    assert.deepEqual(varyingFields([{ a: [1, 2] }, { a: [1, 3] }]), ['a']);
    assert.deepEqual(varyingFields([{ a: 1 }]), []);
  });

  it('numbers spanning two decades or more are a log axis; fewer, linear; anything else ordered categories', () => {
    assert.equal(fieldAxis('lr', [0.001, 0.1]).kind, 'log');
    assert.equal(fieldAxis('lr', [0.001, 0.0999]).kind, 'linear');
    assert.equal(fieldAxis('x', [-1, 1000]).kind, 'linear');
    const axis = fieldAxis('mixed', ['b', 10, undefined, true, 2, 'a', false]);
    assert.deepEqual(axis, { kind: 'categorical', field: 'mixed', categories: ['default', '2', '10', 'false', 'true', 'a', 'b'] });
    assert.equal(axisPosition(axis, undefined), 0);
    assert.equal(axisPosition(axis, 'b'), 1);
    assert.equal(axisPosition(axis, 10), 2 / 6);
    const log = fieldAxis('lr', [0.0001, 0.01, 0.001]);
    assert.equal(axisPosition(log, 0.001), 0.5);
  });
});
