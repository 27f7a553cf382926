import type { AslDefinition } from '../cloud/model.ts';

/**
 * The states of a definition as Step Functions sees them: those at the top and, recursively,
 * those of every Map's ItemProcessor (or legacy Iterator) and every Parallel's Branches. The
 * local runtime keys its per-state settings by state name (aws-local-stepfunctions passes the
 * same task handlers and retry overrides, by name, to the executions it starts for iterations
 * and branches), which is sound because ASL makes state names unique across the whole machine:
 * a definition that repeats one is refused, as CreateStateMachine refuses it.
 */
export type AslState = Record<string, unknown>;

export interface LocatedState {
  name: string;
  state: AslState;
  /** The Map and Parallel states it runs inside, outermost first ([] at the top level). */
  enclosing: string[];
}

export class DuplicateStateNameError extends Error {
  override readonly name = 'DuplicateStateNameError';
}

/** The definitions a Map or Parallel state runs: its item processor, or its branches. */
export function nestedDefinitions(state: AslState): AslDefinition[] {
  if (state.Type === 'Map') {
    const processor = (state.ItemProcessor ?? state.Iterator) as AslDefinition | undefined;
    return processor ? [processor] : [];
  }
  if (state.Type === 'Parallel') return (state.Branches as AslDefinition[] | undefined) ?? [];
  return [];
}

/** Every state of the definition, nested ones included (objects of the definition itself, not copies). */
export function statesOf(definition: AslDefinition): LocatedState[] {
  const found: LocatedState[] = [];
  const where = new Map<string, string[]>();
  const visit = (machine: AslDefinition, enclosing: string[]) => {
    for (const [name, state] of Object.entries(machine.States ?? {})) {
      const earlier = where.get(name);
      if (earlier) {
        const place = (path: string[]) => (path.length === 0 ? 'at the top level' : `inside ${path.join(' > ')}`);
        throw new DuplicateStateNameError(`state name "${name}" is used twice (${place(earlier)} and ${place(enclosing)}): Step Functions requires state names unique across the whole state machine`);
      }
      where.set(name, enclosing);
      found.push({ name, state, enclosing });
      for (const nested of nestedDefinitions(state)) visit(nested, [...enclosing, name]);
    }
  };
  visit(definition, []);
  return found;
}

/**
 * The states in the order an execution can first reach them: breadth first from StartAt along
 * every transition (Next, a Choice's rules and Default, Catch), a Map's or Parallel's own states
 * right after it; states no transition reaches come last, in definition order. Used to start what
 * a run needs first first (cli/local/runner.ts prewarms Lambda environments in this order).
 */
export function statesInReachOrder(definition: AslDefinition): LocatedState[] {
  const all = statesOf(definition);
  const byName = new Map(all.map((located) => [located.name, located]));
  const ordered = new Set<LocatedState>();
  const visit = (machine: AslDefinition) => {
    const queue = [machine.StartAt];
    while (queue.length > 0) {
      const located = byName.get(String(queue.shift()));
      if (!located || ordered.has(located)) continue;
      ordered.add(located);
      for (const nested of nestedDefinitions(located.state)) visit(nested);
      const { Next, Default, Choices, Catch } = located.state as { Next?: string; Default?: string; Choices?: { Next?: string }[]; Catch?: { Next?: string }[] };
      for (const target of [Next, ...(Choices ?? []).map((rule) => rule.Next), Default, ...(Catch ?? []).map((catcher) => catcher.Next)]) {
        if (typeof target === 'string') queue.push(target);
      }
    }
  };
  visit(definition);
  return [...ordered, ...all.filter((located) => !ordered.has(located))];
}

/**
 * The value a reference path (`$`, `$.a.b`, `$.a[0]`, `$['a b']`) selects; `found: false` when it
 * selects nothing. `undefined` for a path that is not a plain reference path (filters, wildcards,
 * the Context Object): the caller then leaves it to the library.
 */
export function selectReferencePath(path: string, value: unknown): { found: boolean; value?: unknown } | undefined {
  if (!path.startsWith('$') || path.startsWith('$$')) return undefined;
  const step = /\.([A-Za-z_$][\w$-]*)|\['([^']*)'\]|\[(\d+)\]/y;
  step.lastIndex = 1;
  let current = value;
  while (step.lastIndex < path.length) {
    const match = step.exec(path);
    if (!match) return undefined;
    const key = match[1] ?? match[2];
    if (key !== undefined) {
      if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, key)) return { found: false };
      current = (current as Record<string, unknown>)[key];
    } else {
      const index = Number(match[3]);
      if (!Array.isArray(current) || index >= current.length) return { found: false };
      current = current[index];
    }
  }
  return { found: true, value: current };
}
