import { TemplateError } from './template.ts';

/**
 * What EventBridge sends a rule's target, as text: the target's constant `Input`, the part of the
 * event its `InputPath` selects, its `InputTransformer`'s template filled from the event, or the
 * whole event. The transformer follows EventBridge's documented rules:
 *
 * - `InputPathsMap` names variables by JSON paths into the event (dot notation with dashes and
 *   underscores, array indices, `*` wildcards); a path that matches nothing creates no variable,
 *   and its placeholder is left out of the output.
 * - `<name>` in `InputTemplate` is replaced by the variable: inside a JSON string a string value
 *   is inserted as it is (not escaped: EventBridge does not escape extracted values), anything
 *   else as its JSON; outside a string, every value as its JSON. Predefined variables:
 *   aws.events.rule-arn, aws.events.rule-name, aws.events.event.ingestion-time,
 *   aws.events.event (the event without `detail`) and aws.events.event.json (the whole event).
 * - The result is delivered as it stands: a template that is a JSON string ("…", what CDK's
 *   RuleTargetInput.fromText makes) reaches an SNS topic with its quotes, as AWS's own tutorial
 *   shows the mail.
 */
export interface InputTransformer {
  inputPathsMap: Record<string, string>;
  inputTemplate: string;
}

/** A rule target's input settings (at most one is given). */
export interface TargetInputSettings {
  input?: string;
  inputPath?: string;
  inputTransformer?: InputTransformer;
}

export interface TransformContext {
  rule: { arn: string; name: string };
  ingestionTime: string;
}

export function targetInput(target: TargetInputSettings, event: Record<string, unknown>, context: TransformContext): string {
  if (target.input !== undefined) return target.input;
  if (target.inputPath !== undefined) return JSON.stringify(selectPath(event, target.inputPath) ?? null);
  if (target.inputTransformer === undefined) return JSON.stringify(event);
  const { inputPathsMap, inputTemplate } = target.inputTransformer;
  const { detail: _detail, ...withoutDetail } = event;
  const variables = new Map<string, unknown>([
    ['aws.events.rule-arn', context.rule.arn],
    ['aws.events.rule-name', context.rule.name],
    ['aws.events.event.ingestion-time', context.ingestionTime],
    ['aws.events.event', withoutDetail],
    ['aws.events.event.json', event],
  ]);
  for (const [name, path] of Object.entries(inputPathsMap)) {
    const value = selectPath(event, path);
    if (value !== undefined) variables.set(name, value);
  }
  return fillTemplate(inputTemplate, variables, new Set(Object.keys(inputPathsMap)));
}

/** The transformer as CloudFormation would accept it (EventBridge's PutTargets limits). */
export function checkInputTransformer(transformer: InputTransformer, where: string): void {
  const names = Object.keys(transformer.inputPathsMap);
  if (names.length > 100) throw new TemplateError(`${where}.InputPathsMap: at most 100 variables, got ${names.length}`);
  for (const name of names) {
    if (name.startsWith('aws.')) throw new TemplateError(`${where}.InputPathsMap: "${name}": variable names may not start with "aws." (reserved)`);
    parsePath(transformer.inputPathsMap[name], `${where}.InputPathsMap.${name}`);
  }
}

type Step = { key: string } | { index: number } | { wildcard: true };

function parsePath(path: string, where = 'InputPath'): Step[] {
  if (!path.startsWith('$')) throw new TemplateError(`${where}: "${path}" is not a JSON path (it must start with $)`);
  const steps: Step[] = [];
  const pattern = /\.([A-Za-z0-9_\-/]+|\*)|\[(\d+|\*)\]/y;
  pattern.lastIndex = 1;
  while (pattern.lastIndex < path.length) {
    const match = pattern.exec(path);
    if (!match) throw new TemplateError(`${where}: "${path}" uses JSON path syntax EventBridge does not support (dot notation, array indices and * only)`);
    const part = match[1] ?? match[2];
    steps.push(part === '*' ? { wildcard: true } : match[2] !== undefined ? { index: Number(part) } : { key: part });
  }
  return steps;
}

/** The value at `path`; undefined when it matches nothing; a list when a wildcard matched. */
export function selectPath(root: unknown, path: string): unknown {
  let current: unknown[] = [root];
  let many = false;
  for (const step of parsePath(path)) {
    const next: unknown[] = [];
    for (const value of current) {
      if (value === null || typeof value !== 'object') continue;
      if ('wildcard' in step) {
        many = true;
        next.push(...(Array.isArray(value) ? value : Object.values(value)));
      } else if ('index' in step) {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
      } else if (!Array.isArray(value) && Object.hasOwn(value, step.key)) {
        next.push((value as Record<string, unknown>)[step.key]);
      }
    }
    current = next;
  }
  if (many) return current.length > 0 ? current : undefined;
  return current[0];
}

/** Replaces each `<name>` of a known variable, aware of whether it stands inside a JSON string. */
function fillTemplate(template: string, variables: Map<string, unknown>, declared: Set<string>): string {
  let output = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const char = template[i];
    if (char === '<') {
      const end = template.indexOf('>', i + 1);
      const name = end > i ? template.slice(i + 1, end) : '';
      if (variables.has(name) || declared.has(name)) {
        const value = variables.get(name);
        if (value !== undefined) output += inString && typeof value === 'string' ? value : JSON.stringify(value);
        i = end;
        continue;
      }
    }
    if (char === '\\' && inString) {
      output += char + (template[i + 1] ?? '');
      i++;
      continue;
    }
    if (char === '"') inString = !inString;
    output += char;
  }
  return output;
}
