import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { AslDefinition } from '../../../cli/local/cloud/model.ts';
import { DuplicateStateNameError, statesOf } from '../../../cli/local/states/asl.ts';
import { StatesError } from '../../../cli/local/states/errors.ts';
import { type ExecutionOutcome, runExecution } from '../../../cli/local/states/execution.ts';
import { ExecutionHistory, type HistoryEvent } from '../../../cli/local/states/history.ts';
import { localizeDefinition, MAX_TIMER_SECONDS, retryIntervals, UnsupportedDefinitionError } from '../../../cli/local/states/localize.ts';
import { type JsonValue, TaskTokens } from '../../../cli/local/states/task-tokens.ts';

/**
 * Map states in the local runtime, as Step Functions runs an inline Map: each iteration with its
 * own Context Object State, at most 40 (and at most the local bound) at once, the history in
 * AWS's shape, the payload limit inside iterations, a failing iteration failing the Map. The
 * execution runs with in-process Task handlers (no cloud: milliseconds); the Task emulation
 * inside iterations (timeouts, IAM, the Lambda service) is in map-state-cloud.test.ts.
 */
const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:Machine';
const FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:Work';
type Handler = (input: JsonValue) => Promise<JsonValue>;

async function execute(
  definition: AslDefinition,
  input: JsonValue,
  handlers: Record<string, Handler> = {},
  options: { mapConcurrency?: number } = {},
): Promise<{ outcome: ExecutionOutcome; history: HistoryEvent[] }> {
  const history = new ExecutionHistory(`${MACHINE.replace(':stateMachine:', ':execution:')}:test`, 'arn:aws:iam::123456789012:role/MachineRole');
  const { definition: localized } = localizeDefinition(definition, 1);
  const outcome = await runExecution({
    definition: localized,
    input,
    handlers,
    executionArn: history.executionArn,
    executionName: 'test',
    stateMachine: { arn: MACHINE, name: 'Machine', roleArn: history.roleArn },
    tokens: new TaskTokens(MACHINE),
    history,
    retryIntervalOverrides: retryIntervals(definition, 1, 0),
    mapConcurrency: options.mapConcurrency ?? 40,
  });
  return { outcome, history: history.events };
}

const task = (extra: Record<string, unknown> = {}) => ({ Type: 'Task', Resource: FUNCTION, End: true, ...extra });
const map = (processor: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  Type: 'Map',
  ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, ...processor },
  End: true,
  ...extra,
});
const succeeded = (outcome: ExecutionOutcome) => assert.equal(outcome.status, 'SUCCEEDED', `${outcome.error}: ${outcome.cause}`);

/** Counts the calls running at once. */
function concurrencyProbe(ms: number): { handler: Handler; peak: () => number } {
  let running = 0;
  let peak = 0;
  return {
    handler: async (input) => {
      peak = Math.max(peak, ++running);
      await sleep(ms);
      running--;
      return input;
    },
    peak: () => peak,
  };
}

describe('the Context Object in concurrent iterations', () => {
  test("each iteration's states read their own $$.State (Name, EnteredTime, RetryCount), and ItemSelector $$.Map.Item.Index", async () => {
    const definition: AslDefinition = {
      StartAt: 'Before',
      States: {
        Before: { Type: 'Pass', Next: 'Sweep' },
        Sweep: map(
          {
            StartAt: 'Work',
            States: {
              // The first attempt fails: the retry reads RetryCount 1.
              Work: task({ Parameters: { 'delay.$': '$.delay', 'index.$': '$.index', 'attempt.$': '$$.State.RetryCount' }, ResultPath: '$.work', Retry: [{ ErrorEquals: ['Flaky'], MaxAttempts: 1 }], Next: 'Stamp', End: undefined }),
              Stamp: { Type: 'Pass', Parameters: { 'name.$': '$$.State.Name', 'entered.$': '$$.State.EnteredTime', 'retries.$': '$$.State.RetryCount', 'index.$': '$.index', 'work.$': '$.work' }, End: true },
            },
          },
          { ItemsPath: '$.delays', ItemSelector: { 'delay.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index' } },
        ),
      },
    };
    // Iteration 0 works longest: iteration 1 enters Stamp while 0 is still in Work.
    const work: Handler = async (input) => {
      const { delay, attempt } = input as { delay: number; attempt: number };
      await sleep(delay);
      if (attempt === 0) throw new StatesError('Flaky', 'first attempt');
      return { attempt };
    };
    const { outcome } = await execute(definition, { delays: [150, 10] }, { Work: work });
    succeeded(outcome);

    const output = outcome.output as { name: string; entered: string; retries: number; index: number; work: { attempt: number } }[];
    const enteredStamp = outcome.events.filter((event) => event.type === 'StateEntered' && event.state?.name === 'Stamp');
    assert.deepEqual(
      enteredStamp.map((event) => event.index),
      [1, 0],
      'the iterations overlapped: 1 reached Stamp first',
    );
    for (const [position, item] of output.entries()) {
      const entered = enteredStamp.find((event) => event.index === position)!;
      assert.equal(item.index, position, '$$.Map.Item.Index in ItemSelector');
      assert.equal(item.name, 'Stamp');
      assert.equal(item.entered, new Date(entered.timestamp).toISOString(), "the iteration's own StateEntered time");
      assert.equal(item.retries, 0, 'Stamp itself was not retried');
      assert.equal(item.work.attempt, 1, "Work's retry read RetryCount 1 in its iteration");
    }
  });
});

describe('concurrency', () => {
  const sweep = (extra: Record<string, unknown>) =>
    ({ StartAt: 'Sweep', States: { Sweep: map({ StartAt: 'Trial', States: { Trial: task() } }, extra) } }) as AslDefinition;
  const items = (count: number) => Array.from({ length: count }, (_, index) => index);

  test('MaxConcurrency 0 runs up to the local bound at once; MaxConcurrency below it wins', async () => {
    const unbounded = concurrencyProbe(30);
    succeeded((await execute(sweep({}), items(6), { Trial: unbounded.handler }, { mapConcurrency: 2 })).outcome);
    assert.equal(unbounded.peak(), 2);

    const declared = concurrencyProbe(30);
    const { outcome } = await execute(sweep({ MaxConcurrency: 3 }), items(8), { Trial: declared.handler }, { mapConcurrency: 8 });
    succeeded(outcome);
    assert.equal(declared.peak(), 3);
    assert.deepEqual(outcome.output, items(8), 'results in item order');
  });

  test("AWS's inline Map runs at most 40 iterations at once, whatever MaxConcurrency says", async () => {
    const probe = concurrencyProbe(40);
    succeeded((await execute(sweep({ MaxConcurrency: 100 }), items(45), { Trial: probe.handler }, { mapConcurrency: 1000 })).outcome);
    assert.equal(probe.peak(), 40);
  });

  test('MaxConcurrencyPath: a non-negative integer bounds the Map; anything else is States.Runtime, which Catch States.ALL does not handle', async () => {
    const probe = concurrencyProbe(30);
    succeeded((await execute(sweep({ MaxConcurrencyPath: '$.limit', ItemsPath: '$.items' }), { limit: 2, items: items(5) }, { Trial: probe.handler })).outcome);
    assert.equal(probe.peak(), 2);

    const caught = { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }], End: undefined, Next: 'Done' };
    const guarded = { StartAt: 'Sweep', States: { ...sweep({ MaxConcurrencyPath: '$.limit', ItemsPath: '$.items', ...caught }).States, Caught: { Type: 'Pass', End: true }, Done: { Type: 'Succeed' } } };
    const cases: [JsonValue, RegExp][] = [
      ['two', /^The MaxConcurrencyPath field refers to value "two" which is not a valid integer: \$\.limit$/],
      [2.5, /^The MaxConcurrencyPath field refers to value "2\.5" which is not a valid integer: \$\.limit$/],
      [-1, /^Expected non-negative integer for MaxConcurrency, got '-1' instead\.$/],
    ];
    for (const [limit, cause] of cases) {
      const { outcome } = await execute(guarded as AslDefinition, { limit, items: items(2) }, { Trial: probe.handler });
      assert.equal(outcome.status, 'FAILED', `limit ${JSON.stringify(limit)}`);
      assert.equal(outcome.error, 'States.Runtime');
      assert.match(String(outcome.cause), cause);
    }
  });
});

describe('failures', () => {
  const definition = (iterationCatch: boolean): AslDefinition => ({
    StartAt: 'Sweep',
    States: {
      Sweep: map({
        StartAt: 'Train',
        States: {
          Train: task(iterationCatch ? { Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }], End: undefined, Next: 'Done' } : {}),
          ...(iterationCatch ? { RecordFailure: { Type: 'Pass', Parameters: { 'failed.$': '$.error.Error', 'index.$': '$.index' }, End: true }, Done: { Type: 'Pass', End: true } } : {}),
        },
      }),
    },
  });
  const train: Handler = async (input) => {
    const { index, fail } = input as { index: number; fail?: boolean };
    if (fail) throw new StatesError('Trial.Diverged', `trial ${index} diverged`);
    await sleep(50);
    return { index, accuracy: 0.5 + index / 10 };
  };
  const trials: JsonValue = [{ index: 0 }, { index: 1, fail: true }, { index: 2 }];

  test("an uncaught error in one iteration fails the Map with that error; the others are aborted", async () => {
    const { outcome, history } = await execute(definition(false), trials, { Train: train });
    assert.equal(outcome.status, 'FAILED');
    assert.equal(outcome.error, 'Trial.Diverged');
    assert.equal(outcome.cause, 'trial 1 diverged');
    const types = history.map((event) => event.type);
    assert.ok(types.includes('MapIterationFailed'), types.join());
    assert.equal(types.filter((type) => type === 'MapIterationAborted').length, 2, types.join());
    assert.ok(types.indexOf('MapStateFailed') > types.indexOf('MapIterationFailed'));
    assert.equal(types.at(-1), 'ExecutionFailed');
    assert.ok(!types.includes('MapStateSucceeded'));
    const failedIteration = history.find((event) => event.type === 'MapIterationFailed');
    assert.deepEqual(failedIteration?.mapIterationFailedEventDetails, { name: 'Sweep', index: 1 });
  });

  test('a caught error ends its iteration successfully; the Map succeeds with every result (ResultSelector, ResultPath)', async () => {
    const { outcome } = await execute(definition(true), trials, { Train: train });
    succeeded(outcome);
    const results = [{ index: 0, accuracy: 0.5 }, { failed: 'Trial.Diverged', index: 1 }, { index: 2, accuracy: 0.7 }];
    assert.deepEqual(outcome.output, results);

    const selected = definition(true);
    Object.assign(selected.States.Sweep, { ItemsPath: '$.trials', ResultSelector: { 'count.$': 'States.ArrayLength($)', 'results.$': '$' }, ResultPath: '$.sweep' });
    const kept = await execute(selected, { trials, note: 'kept' }, { Train: train });
    succeeded(kept.outcome);
    assert.deepEqual(kept.outcome.output, { trials, note: 'kept', sweep: { count: 3, results } });
  });

  test("256 KiB: an iteration's state output over it fails the execution (no Catch applies); so does the Map's own output", async () => {
    const big = (bytes: number): Handler => async () => 'x'.repeat(bytes);
    const inner = { StartAt: 'Grow', States: { Grow: task({ ResultPath: '$.blob' }) } };
    const caught = { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }], End: undefined, Next: 'Done' };
    const guarded = (inputBytes: number): AslDefinition => ({ StartAt: 'Sweep', States: { Sweep: map(inner, caught), Caught: { Type: 'Pass', End: true }, Done: { Type: 'Succeed' } } });

    const inIteration = await execute(guarded(0), [{ pad: 'p'.repeat(100_000) }], { Grow: big(200_000) });
    assert.equal(inIteration.outcome.error, 'States.DataLimitExceeded');
    assert.match(String(inIteration.outcome.cause), /the output of state Grow is \d+ bytes, over the 262144-byte limit/);
    assert.ok(!inIteration.outcome.events.some((event) => event.type === 'StateCaught'), 'the Map’s Catch did not apply');

    const threeTimes = await execute(guarded(0), [{}, {}, {}], { Grow: big(100_000) });
    assert.equal(threeTimes.outcome.error, 'States.DataLimitExceeded');
    assert.match(String(threeTimes.outcome.cause), /the output of state Sweep is \d+ bytes/);
  });
});

describe('the execution history (GetExecutionHistory) and event log', () => {
  test("AWS's Map events: MapStateStarted with the item count, MapIterationStarted/Succeeded with name and index, the iterations' states chained by previousEventId", async () => {
    const definition: AslDefinition = {
      StartAt: 'Sweep',
      States: { Sweep: map({ StartAt: 'Trial', States: { Trial: task({ Next: 'Record', End: undefined }), Record: { Type: 'Pass', End: true } } }, { ItemsPath: '$.trials', MaxConcurrency: 1 }) },
    };
    const trials = ['a', 'b', 'c'];
    const { outcome, history } = await execute(definition, { trials }, { Trial: async (input) => input });
    succeeded(outcome);

    // One iteration at a time: the history is AWS's sequence for it.
    const iteration = (index: number) => [`MapIterationStarted:${index}`, 'TaskStateEntered', 'TaskStateExited', 'PassStateEntered', 'PassStateExited', `MapIterationSucceeded:${index}`];
    const expected = ['ExecutionStarted', 'MapStateEntered', 'MapStateStarted', ...trials.flatMap((_, index) => iteration(index)), 'MapStateSucceeded', 'MapStateExited', 'ExecutionSucceeded'];
    const label = (event: HistoryEvent) => {
      const details = (event.mapIterationStartedEventDetails ?? event.mapIterationSucceededEventDetails) as { name: string; index: number } | undefined;
      if (details) assert.equal(details.name, 'Sweep');
      return details ? `${event.type}:${details.index}` : event.type;
    };
    assert.deepEqual(history.map(label), expected);
    assert.deepEqual(history.find((event) => event.type === 'MapStateStarted')?.mapStateStartedEventDetails, { length: trials.length });
    for (const event of history) assert.ok(event.previousEventId < event.id && event.id === history.indexOf(event) + 1);
    const firstState = history.find((event) => event.type === 'TaskStateEntered')!;
    assert.equal(history[firstState.previousEventId - 1].type, 'MapIterationStarted', "an iteration's first state follows its MapIterationStarted");

    // execution-events.json: the library's event shapes, iterations included.
    const started = outcome.events.filter((event) => event.type === 'MapIterationStarted');
    assert.deepEqual(
      started.map((event) => [event.index, event.parentState]),
      trials.map((_, index) => [index, { type: 'Map', name: 'Sweep' }]),
    );
    assert.deepEqual(outcome.events.filter((event) => event.state?.name === 'Trial' && event.type === 'StateEntered').map((event) => event.index), [0, 1, 2]);
  });

  test('concurrent iterations: each event chains to the previous event of its own iteration', async () => {
    const definition: AslDefinition = { StartAt: 'Sweep', States: { Sweep: map({ StartAt: 'Trial', States: { Trial: task() } }) } };
    const { history } = await execute(definition, [80, 10, 40], { Trial: async (input) => (await sleep(input as number), input) });
    const iterationOf = new Map<number, number>();
    for (const event of history) {
      const started = event.mapIterationStartedEventDetails as { index: number } | undefined;
      if (started) iterationOf.set(event.id, started.index);
      else if (event.type.startsWith('Task') || event.type.startsWith('MapIteration')) {
        assert.ok(iterationOf.has(event.previousEventId), `${event.type} (${event.id}) chains into its iteration`);
        iterationOf.set(event.id, iterationOf.get(event.previousEventId)!);
      }
    }
    const succeededOrder = history.filter((event) => event.type === 'MapIterationSucceeded').map((event) => (event.mapIterationSucceededEventDetails as { index: number }).index);
    assert.deepEqual(succeededOrder, [1, 2, 0], 'the history interleaves iterations as they ran');
  });
});

describe('a Map inside a Map', () => {
  test('inner iterations have their own index, $$.State and history events naming the inner Map', async () => {
    const inner = map(
      { StartAt: 'Cell', States: { Cell: { Type: 'Pass', Parameters: { 'row.$': '$.row', 'column.$': '$.column', 'state.$': '$$.State.Name' }, End: true } } },
      { ItemsPath: '$.columns', ItemSelector: { 'row.$': '$.row', 'column.$': '$$.Map.Item.Value' } },
    );
    const definition: AslDefinition = {
      StartAt: 'Rows',
      States: { Rows: map({ StartAt: 'Columns', States: { Columns: inner } }, { ItemSelector: { 'row.$': '$$.Map.Item.Value', columns: ['a', 'b'] } }) },
    };
    const { outcome, history } = await execute(definition, [1, 2]);
    succeeded(outcome);
    assert.deepEqual(outcome.output, [1, 2].map((row) => ['a', 'b'].map((column) => ({ row, column, state: 'Cell' }))));
    const started = history.filter((event) => event.type === 'MapIterationStarted').map((event) => event.mapIterationStartedEventDetails as { name: string; index: number });
    assert.deepEqual(
      started.filter((details) => details.name === 'Rows').map((details) => details.index),
      [0, 1],
    );
    assert.deepEqual(
      started.filter((details) => details.name === 'Columns').map((details) => details.index).sort(),
      [0, 0, 1, 1],
    );
  });
});

describe('Parallel states', () => {
  test("each branch reads its own $$.State; the history has ParallelStateStarted/Succeeded and no per-branch events, as AWS's", async () => {
    const branch = (name: string) => ({
      StartAt: `${name}Work`,
      States: {
        [`${name}Work`]: task({ Next: `${name}Stamp`, End: undefined }),
        [`${name}Stamp`]: { Type: 'Pass', Parameters: { 'name.$': '$$.State.Name', 'entered.$': '$$.State.EnteredTime' }, End: true },
      },
    });
    const definition: AslDefinition = { StartAt: 'Both', States: { Both: { Type: 'Parallel', Branches: [branch('Slow'), branch('Fast')], End: true } } };
    const delayed = (ms: number): Handler => async (input) => (await sleep(ms), input);
    const { outcome, history } = await execute(definition, {}, { SlowWork: delayed(100), FastWork: delayed(5) });
    succeeded(outcome);
    const stamps = outcome.output as { name: string; entered: string }[];
    assert.deepEqual(stamps.map((stamp) => stamp.name), ['SlowStamp', 'FastStamp']);
    for (const stamp of stamps) {
      const entered = outcome.events.find((event) => event.type === 'StateEntered' && event.state?.name === stamp.name)!;
      assert.equal(stamp.entered, new Date(entered.timestamp).toISOString());
    }
    const types = history.map((event) => event.type);
    assert.deepEqual(types.slice(0, 3), ['ExecutionStarted', 'ParallelStateEntered', 'ParallelStateStarted']);
    assert.deepEqual(types.slice(-3), ['ParallelStateSucceeded', 'ParallelStateExited', 'ExecutionSucceeded']);
    assert.ok(!types.some((type) => type.startsWith('Map') || type.startsWith('ParallelBranch')), types.join());
  });
});

describe('definitions', () => {
  const nested: AslDefinition = {
    StartAt: 'Sweep',
    States: {
      Sweep: map({
        StartAt: 'Train',
        States: { Train: task({ TimeoutSeconds: 600, HeartbeatSeconds: 60, ResultPath: '$', Retry: [{ ErrorEquals: ['Lambda.ServiceException'], IntervalSeconds: 2 }] }) },
      }),
    },
  };

  test('nested states are localized like top-level ones: timeouts handed to the handlers, ResultPath "$", scaled retry intervals', () => {
    const { definition } = localizeDefinition(nested, 0.01);
    const train = statesOf(definition).find(({ name }) => name === 'Train')!;
    assert.deepEqual(train.enclosing, ['Sweep']);
    assert.equal(train.state.TimeoutSeconds, MAX_TIMER_SECONDS);
    assert.equal(train.state.HeartbeatSeconds, undefined);
    assert.ok(!('ResultPath' in train.state));
    assert.deepEqual(retryIntervals(nested, 0.01), { Train: [20] });
  });

  test('refused as AWS or the local runtime would refuse them: a repeated state name, a Distributed Map, $$.Execution.Input inside an iteration', () => {
    const repeated = structuredClone(nested);
    (repeated.States as Record<string, unknown>).Train = { Type: 'Pass', End: true };
    assert.throws(() => localizeDefinition(repeated), (error: Error) => error instanceof DuplicateStateNameError && /"Train" is used twice \(inside Sweep and at the top level\)/.test(error.message));

    const distributed = structuredClone(nested);
    ((distributed.States.Sweep.ItemProcessor as Record<string, unknown>).ProcessorConfig as Record<string, unknown>).Mode = 'DISTRIBUTED';
    assert.throws(() => localizeDefinition(distributed), UnsupportedDefinitionError);

    const readsExecution = structuredClone(nested);
    const train = (readsExecution.States.Sweep.ItemProcessor as AslDefinition).States.Train;
    train.Parameters = { 'input.$': '$$.Execution.Input' };
    assert.throws(() => localizeDefinition(readsExecution), /Train \(inside Sweep\): \$\$\.Execution\.Input is not emulated/);
    train.Parameters = { 'id.$': '$$.Execution.Id' };
    assert.doesNotThrow(() => localizeDefinition(readsExecution), 'the execution id is the same everywhere');
  });

  test('a local bound below what AWS would run is listed among the adjustments', () => {
    const withBound = (mapConcurrency: number) => localizeDefinition(nested, 1, { mapConcurrency }).adjustments.filter((line) => line.startsWith('Sweep:'));
    assert.deepEqual(withBound(40), []);
    assert.match(withBound(4)[0], /^Sweep: at most 4 iterations at once on this machine \(MaxConcurrency 0: AWS runs up to 40\)/);
  });
});
