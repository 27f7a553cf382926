import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { repoPath } from './paths.ts';
import { settingsFromContext } from './settings.ts';
import { FmnistStack } from './stack.ts';

/**
 * The state machine definition exactly as `cdk synth` renders it, as a plain object: for the
 * local runner (which executes this very definition with the handlers mapped by state name) and
 * for tests. CloudFormation references inside it become stable placeholders:
 *   AWS::Partition / AWS::Region / AWS::AccountId -> aws / us-east-1 / 123456789012
 *   { Ref: X }                                     -> X (the logical id; lowercased for a bucket)
 *   { Fn::GetAtt: [X, "Arn"] } of a Lambda function -> arn:aws:lambda:us-east-1:123456789012:function:X
 */
export const PLACEHOLDER_ACCOUNT = '123456789012';
export const PLACEHOLDER_REGION = 'us-east-1';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

export interface AslDefinition {
  StartAt: string;
  States: Record<string, Record<string, unknown>>;
  TimeoutSeconds?: number;
  [key: string]: unknown;
}

/** The CDK context an app gets from cdk.json (feature flags and this project's defaults). */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(repoPath('cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

export interface SynthOptions {
  /** Extra context, e.g. { destroyOnRemoval: true }. */
  context?: Record<string, unknown>;
  /** Bundle the Lambda code (slow, needs the sources to compile); default false. */
  bundle?: boolean;
}

export interface SynthesizedStack {
  app: App;
  stack: FmnistStack;
  template: Template;
  /** Removes the temporary cloud assembly directory. */
  cleanup(): void;
}

/**
 * Synthesizes the stack in-process into a temporary directory, without bundling and without the
 * builtin CloudFormation validation (both slow; neither changes the template's shape).
 */
export function synthesizeStack(options: SynthOptions = {}): SynthesizedStack {
  const outdir = mkdtempSync(join(tmpdir(), 'fmnist-cdk-'));
  const app = new App({
    outdir,
    builtinCloudFormationValidation: false,
    context: {
      ...cdkJsonContext(),
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
  const stack = new FmnistStack(app, 'FashionMnist', { settings: settingsFromContext(app.node) });
  const template = Template.fromStack(stack);
  return { app, stack, template, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}

export function definitionFromTemplate(template: { Resources: Resources }): AslDefinition {
  const resources = template.Resources;
  const machines = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const definitionString = machines[0][1].Properties?.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof definitionString === 'string'
      ? definitionString
      : definitionString['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : placeholder(part, resources))).join(definitionString['Fn::Join'][0]);
  return JSON.parse(text) as AslDefinition;
}

function placeholder(part: unknown, resources: Resources): string {
  const intrinsic = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  if (intrinsic.Ref === 'AWS::Partition') return 'aws';
  if (intrinsic.Ref === 'AWS::Region') return PLACEHOLDER_REGION;
  if (intrinsic.Ref === 'AWS::AccountId') return PLACEHOLDER_ACCOUNT;
  if (intrinsic.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
  // A bucket's name must be a valid bucket name (lowercase), as the local cloud names it too.
  if (intrinsic.Ref !== undefined) return resources[intrinsic.Ref]?.Type === 'AWS::S3::Bucket' ? intrinsic.Ref.toLowerCase() : intrinsic.Ref;
  const getAtt = intrinsic['Fn::GetAtt'];
  if (getAtt) {
    const [logicalId, attribute] = getAtt;
    const type = resources[logicalId]?.Type;
    if (type === 'AWS::Lambda::Function' && attribute === 'Arn') {
      return `arn:aws:lambda:${PLACEHOLDER_REGION}:${PLACEHOLDER_ACCOUNT}:function:${logicalId}`;
    }
    const service = type?.split('::')[1]?.toLowerCase() ?? 'unknown';
    return `arn:aws:${service}:${PLACEHOLDER_REGION}:${PLACEHOLDER_ACCOUNT}:${logicalId}`;
  }
  throw new Error(`unexpected intrinsic in the definition: ${JSON.stringify(part)}`);
}

/** Synthesizes the stack (no bundling) and returns its state machine definition. */
export function synthesizeWorkflowDefinition(options: SynthOptions = {}): AslDefinition {
  const synthesized = synthesizeStack(options);
  try {
    return definitionFromTemplate(synthesized.template.toJSON() as { Resources: Resources });
  } finally {
    synthesized.cleanup();
  }
}
