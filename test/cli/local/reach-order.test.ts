import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AslDefinition } from '../../../cli/local/cloud/model.ts';
import { statesInReachOrder, statesOf } from '../../../cli/local/states/asl.ts';

/**
 * The local runner prewarms Lambda environments in the order an execution first reaches their
 * states (cli/local/runner.ts), a few at a time: that order must follow the transitions, not the
 * order the definition happens to list its states in.
 */
test('states in reach order: breadth first from StartAt through Next, Choice rules, Default and Catch; nested states after their Map; unreachable last', () => {
  const definition: AslDefinition = {
    StartAt: 'Validate',
    States: {
      // Listed in an order unlike the execution's.
      Promote: { Type: 'Task', Resource: 'promote', End: true },
      Unreachable: { Type: 'Task', Resource: 'never', End: true },
      Evaluate: { Type: 'Task', Resource: 'evaluate', Next: 'Promote' },
      Failed: { Type: 'Fail' },
      Train: { Type: 'Task', Resource: 'train', Next: 'Evaluate', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }] },
      Route: { Type: 'Choice', Choices: [{ Variable: '$.sweep', BooleanEquals: true, Next: 'Trials' }], Default: 'Train' },
      Trials: { Type: 'Map', ItemProcessor: { StartAt: 'Trial', States: { Trial: { Type: 'Task', Resource: 'trial', End: true } } }, Next: 'Promote' },
      Ingest: { Type: 'Task', Resource: 'ingest', Next: 'Route' },
      Validate: { Type: 'Task', Resource: 'validate', Next: 'Ingest' },
    },
  };
  const names = statesInReachOrder(definition).map(({ name }) => name);
  assert.deepEqual(names, ['Validate', 'Ingest', 'Route', 'Trials', 'Trial', 'Train', 'Promote', 'Evaluate', 'Failed', 'Unreachable']);
  // The same states as statesOf, each once: only the order differs.
  assert.deepEqual([...names].sort(), statesOf(definition).map(({ name }) => name).sort());
});
