import type { LambdaService } from './lambda-service.ts';
import type { CloudModel, RuleSpec } from './model.ts';

/**
 * The default event bus, locally: events the local cloud emits (a Step Functions execution's
 * status change) go to every enabled rule of the template whose pattern matches, and each rule's
 * Lambda targets run asynchronously, as EventBridge invokes them (Lambda retries a failing
 * asynchronous invocation twice). What happened is kept in `deliveries` for the run's report.
 *
 * Event patterns are matched here by hand: no npm package implements EventBridge's matching
 * (AWS offers it only as the TestEventPattern API). Supported: exact values, prefix, suffix,
 * wildcard, anything-but (values or prefix), exists, numeric comparisons and nesting; an
 * operator outside that list throws rather than match wrongly.
 */
export interface BusEvent {
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
  [key: string]: unknown;
}

/** An event the code in a sandbox put with PutEvents (./eventbridge-api.ts); `by`: its role and session. */
export interface PublishedEvent {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  by: string;
}

export interface Delivery {
  rule: string;
  target: string;
  attempts: number;
  outcome: 'succeeded' | 'failed';
  error?: string;
}

export class EventBus {
  readonly deliveries: Delivery[] = [];
  /** What the code in the sandboxes put with PutEvents (./eventbridge-api.ts), in order. */
  readonly published: PublishedEvent[] = [];
  readonly #pending = new Set<Promise<void>>();

  constructor(
    readonly model: CloudModel,
    readonly lambda: LambdaService,
  ) {}

  /** Matching rules for `event`, without delivering it. */
  rulesFor(event: BusEvent): RuleSpec[] {
    return this.model.rules.filter((rule) => rule.enabled && rule.eventPattern && matchesPattern(rule.eventPattern, event));
  }

  put(event: BusEvent): void {
    const full = { version: '0', id: crypto.randomUUID(), account: this.model.bindings.account, region: this.model.bindings.region, time: new Date().toISOString(), resources: [], ...event };
    for (const rule of this.rulesFor(full)) {
      for (const target of rule.targets) {
        const fn = this.model.functions.find((candidate) => candidate.arn === target.arn);
        if (!fn) {
          this.deliveries.push({ rule: rule.name, target: target.arn, attempts: 0, outcome: 'failed', error: 'the local cloud delivers only to Lambda targets' });
          continue;
        }
        const delivery = (async () => {
          const record: Delivery = { rule: rule.name, target: fn.name, attempts: 0, outcome: 'failed' };
          // Lambda's asynchronous invocation: the first attempt and two retries on a function error.
          for (let attempt = 0; attempt < 3; attempt++) {
            record.attempts++;
            try {
              await this.lambda.invoke(fn, full);
              record.outcome = 'succeeded';
              record.error = undefined;
              break;
            } catch (error) {
              record.error = `${(error as Error).name}: ${(error as Error).message}`;
            }
          }
          this.deliveries.push(record);
        })();
        this.#pending.add(delivery);
        void delivery.finally(() => this.#pending.delete(delivery));
      }
    }
  }

  /** Waits until every delivery so far has ended. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

export function matchesPattern(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = event[key];
    if (Array.isArray(expected)) return matchesValues(expected, actual);
    if (expected !== null && typeof expected === 'object') {
      return actual !== null && typeof actual === 'object' && !Array.isArray(actual) && matchesPattern(expected as Record<string, unknown>, actual as Record<string, unknown>);
    }
    throw new Error(`event pattern field "${key}" must be an array or an object`);
  });
}

function matchesValues(expected: unknown[], actual: unknown): boolean {
  const values = Array.isArray(actual) ? actual : [actual];
  return expected.some((matcher) => {
    if (matcher !== null && typeof matcher === 'object') {
      const [operator, argument] = Object.entries(matcher as Record<string, unknown>)[0] ?? [];
      if (operator === 'exists') return (actual !== undefined) === argument;
      return values.some((value) => matchesOperator(String(operator), argument, value));
    }
    return values.some((value) => value === matcher);
  });
}

function matchesOperator(operator: string, argument: unknown, value: unknown): boolean {
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && value.startsWith(String(argument));
    case 'suffix':
      return typeof value === 'string' && value.endsWith(String(argument));
    case 'wildcard': {
      const regex = new RegExp(`^${String(argument).split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
      return typeof value === 'string' && regex.test(value);
    }
    case 'anything-but': {
      if (argument !== null && typeof argument === 'object' && !Array.isArray(argument)) {
        const prefix = (argument as { prefix?: string }).prefix;
        if (prefix === undefined) throw new Error('anything-but supports values and prefix only here');
        return typeof value === 'string' && !value.startsWith(prefix);
      }
      const excluded = Array.isArray(argument) ? argument : [argument];
      return !excluded.includes(value);
    }
    case 'numeric': {
      if (typeof value !== 'number') return false;
      const terms = argument as (string | number)[];
      for (let i = 0; i < terms.length; i += 2) {
        const [op, bound] = [terms[i], Number(terms[i + 1])];
        const ok = op === '=' ? value === bound : op === '<' ? value < bound : op === '<=' ? value <= bound : op === '>' ? value > bound : op === '>=' ? value >= bound : undefined;
        if (ok === undefined) throw new Error(`numeric operator ${String(op)} is not supported`);
        if (!ok) return false;
      }
      return true;
    }
    default:
      throw new Error(`event pattern operator "${operator}" is not emulated by the local cloud`);
  }
}
