import { AccessDeniedError, type IamAuthorizer } from './iam.ts';
import { targetInput } from './input-transformer.ts';
import type { LambdaService } from './lambda-service.ts';
import type { CloudModel, LambdaSpec, RuleSpec, RuleTarget, TopicSpec } from './model.ts';
import { TemplateError } from './template.ts';

/**
 * The default event bus, locally: events the local cloud emits (a Step Functions execution's
 * status change) and events code puts (./eventbridge-api.ts) go to every enabled rule of the
 * template whose pattern matches, and each target gets what the rule gives it
 * (./input-transformer.ts: the event, or its Input, InputPath or InputTransformer):
 *
 * - a Lambda function runs asynchronously, as EventBridge invokes it (Lambda retries a failing
 *   asynchronous invocation twice);
 * - an SNS topic is published to, as EventBridge does it: allowed only if the topic policy lets
 *   events.amazonaws.com publish for this rule (aws:SourceArn) and, for an encrypted topic, the
 *   key policy lets it use the key. Nothing is mailed: the message is kept in the delivery, so a
 *   run reports what would have been sent.
 *
 * What happened is kept in `deliveries` for the run's report. A rule with a target of any other
 * kind cannot be emulated: the local cloud refuses to start with it (undeliverableTargets), it is
 * never silently skipped.
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
  /** The function's name, or the topic's logical id. */
  target: string;
  kind: 'lambda' | 'sns';
  attempts: number;
  outcome: 'succeeded' | 'failed';
  error?: string;
  /** SNS: the message published, exactly as EventBridge made it from the event. */
  message?: string;
}

type Destination = { kind: 'lambda'; fn: LambdaSpec } | { kind: 'sns'; topic: TopicSpec };

const EVENTS_SERVICE = 'events.amazonaws.com';

/** Every rule target the local bus cannot deliver to, one line each (none in a stack it can emulate). */
export function undeliverableTargets(model: CloudModel): string[] {
  return model.rules.flatMap((rule) =>
    rule.targets
      .filter((target) => destinationOf(model, target) === undefined)
      .map((target) => `${rule.logicalId}: target ${target.id} (${target.arn}) is neither a Lambda function nor an SNS topic of this template; the local cloud delivers to no other kind`),
  );
}

function destinationOf(model: CloudModel, target: RuleTarget): Destination | undefined {
  const fn = model.functions.find((candidate) => candidate.arn === target.arn);
  if (fn) return { kind: 'lambda', fn };
  const topic = model.topics.find((candidate) => candidate.arn === target.arn);
  return topic && { kind: 'sns', topic };
}

export class EventBus {
  readonly deliveries: Delivery[] = [];
  /** What the code in the sandboxes put with PutEvents (./eventbridge-api.ts), in order. */
  readonly published: PublishedEvent[] = [];
  readonly #pending = new Set<Promise<void>>();

  constructor(
    readonly model: CloudModel,
    readonly lambda: LambdaService,
    readonly authorizer: IamAuthorizer,
  ) {
    const undeliverable = undeliverableTargets(model);
    if (undeliverable.length > 0) throw new TemplateError(`rules the local cloud cannot deliver:\n  ${undeliverable.join('\n  ')}`);
  }

  /** Matching rules for `event`, without delivering it. */
  rulesFor(event: BusEvent): RuleSpec[] {
    return this.model.rules.filter((rule) => rule.enabled && rule.eventPattern && matchesPattern(rule.eventPattern, event));
  }

  put(event: BusEvent): void {
    const full = { version: '0', id: crypto.randomUUID(), account: this.model.bindings.account, region: this.model.bindings.region, time: new Date().toISOString(), resources: [], ...event };
    const ingestionTime = new Date().toISOString();
    for (const rule of this.rulesFor(full)) {
      for (const target of rule.targets) {
        const destination = destinationOf(this.model, target)!;
        const delivery = (async () => {
          let input: string;
          try {
            input = targetInput(target, full, { rule, ingestionTime });
          } catch (error) {
            const name = destination.kind === 'lambda' ? destination.fn.name : destination.topic.logicalId;
            this.deliveries.push({ rule: rule.name, target: name, kind: destination.kind, attempts: 0, outcome: 'failed', error: `${(error as Error).name}: ${(error as Error).message}` });
            return;
          }
          this.deliveries.push(destination.kind === 'lambda' ? await this.#invoke(rule, destination.fn, input) : await this.#publish(rule, destination.topic, input));
        })();
        this.#pending.add(delivery);
        void delivery.finally(() => this.#pending.delete(delivery));
      }
    }
  }

  /** Lambda's asynchronous invocation: the first attempt and two retries on a function error. */
  async #invoke(rule: RuleSpec, fn: LambdaSpec, input: string): Promise<Delivery> {
    const record: Delivery = { rule: rule.name, target: fn.name, kind: 'lambda', attempts: 0, outcome: 'failed' };
    let payload: unknown;
    try {
      payload = JSON.parse(input);
    } catch {
      return { ...record, error: `InvalidRequestContentException: the rule's input for ${fn.name} is not JSON: ${input.slice(0, 200)}` };
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      record.attempts++;
      try {
        await this.lambda.invoke(fn, payload);
        record.outcome = 'succeeded';
        record.error = undefined;
        break;
      } catch (error) {
        record.error = `${(error as Error).name}: ${(error as Error).message}`;
      }
    }
    return record;
  }

  /**
   * EventBridge's sns:Publish: the topic policy must allow events.amazonaws.com for this rule, and
   * an encrypted topic's key policy must let it generate data keys (an AWS-managed key never does).
   */
  async #publish(rule: RuleSpec, topic: TopicSpec, message: string): Promise<Delivery> {
    const record: Delivery = { rule: rule.name, target: topic.logicalId, kind: 'sns', attempts: 1, outcome: 'failed', message };
    const context = { 'aws:SourceArn': rule.arn, 'aws:SourceAccount': this.model.bindings.account };
    try {
      await this.authorizer.authorizeService(EVENTS_SERVICE, { action: 'sns:Publish', resource: topic.arn, context, resourcePolicy: topic.policy });
      if (topic.key && 'external' in topic.key) {
        throw new AccessDeniedError('kms:GenerateDataKey', topic.key.external, `${EVENTS_SERVICE} cannot use key ${topic.key.external}: it is not a key of this template, and an AWS-managed key's policy never lets EventBridge use it`);
      }
      if (topic.key) {
        await this.authorizer.authorizeService(EVENTS_SERVICE, { action: 'kms:GenerateDataKey', resource: topic.key.arn, context, resourcePolicy: topic.key.policy });
      }
      record.outcome = 'succeeded';
    } catch (error) {
      if (!(error instanceof AccessDeniedError)) throw error;
      record.error = `${error.name}: ${error.message}`;
    }
    return record;
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
