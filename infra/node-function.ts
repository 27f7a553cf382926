import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ESM_BANNER } from '../scripts/esm-banner.mjs';
import { functionRole } from './function-role.ts';
import { acknowledge } from './nag.ts';
import { repoPath, SOURCE_ENTRY_METADATA } from './paths.ts';

export const POWERTOOLS_METRICS_NAMESPACE = 'FashionMnist';

/** Lambda and CloudWatch Logs accept only these retention periods. */
export function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((value): value is number => typeof value === 'number');
  if (!allowed.includes(days)) throw new Error(`logRetentionDays must be one of ${allowed.join(', ')}; got ${days}`);
  return days as logs.RetentionDays;
}

export interface LogSettings {
  readonly logRetentionDays: number;
  readonly logLevel: string;
  readonly removalPolicy: RemovalPolicy;
}

export interface FmnistFunctionProps {
  /** functions/<step>/handler.ts */
  readonly step: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly architecture: lambda.Architecture;
  readonly ephemeralStorageSize?: Size;
  readonly environment?: Record<string, string>;
  readonly layers?: lambda.ILayerVersion[];
  /** Extra esbuild CLI args (e.g. an --alias to a layer path). */
  readonly esbuildArgs?: Record<string, string | boolean>;
  /** Shell commands run after esbuild, with the project root and the bundle directory. */
  readonly afterBundling?: (inputDir: string, outputDir: string) => string[];
  readonly logs: LogSettings;
  /** Asynchronous invocations (EventBridge targets): where failures go after Lambda's own retries. */
  readonly onFailure?: lambda.IDestination;
  readonly retryAttempts?: number;
  readonly maxEventAge?: Duration;
}

/**
 * Modules never bundled: tfjs-node is an optional native addon the Lambdas do not ship (the
 * backend falls back to wasm), @napi-rs/canvas is native and comes from the report-renderer
 * layer where it is needed. The AWS SDK IS bundled (pinned versions from package-lock.json, not
 * whatever the runtime carries: lib/aws/clients.ts relies on recent checksum options).
 */
const NEVER_BUNDLED = ['@tensorflow/tfjs-node', '@napi-rs/canvas'];

/**
 * A step's Lambda: functions/<step>/handler.ts bundled by the local esbuild (never Docker) into
 * one minified ESM file with source maps, Node.js 22, Powertools settings, its own log group and
 * a role that may write only there (function-role.ts); its other rights are granted by the caller.
 */
export class FmnistFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: FmnistFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: retentionDays(props.logs.logRetentionDays),
      removalPolicy: props.logs.removalPolicy,
    });
    super(scope, id, {
      role: functionRole(scope, `${id}Role`, logGroup, `fmnist ${props.step} function`),
      onFailure: props.onFailure,
      retryAttempts: props.retryAttempts,
      maxEventAge: props.maxEventAge,
      entry: repoPath('functions', props.step, 'handler.ts'),
      handler: 'handler',
      projectRoot: repoPath(),
      depsLockFilePath: repoPath('package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: props.architecture,
      memorySize: props.memorySize,
      timeout: props.timeout,
      ephemeralStorageSize: props.ephemeralStorageSize,
      layers: props.layers,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        POWERTOOLS_SERVICE_NAME: `fmnist-${props.step}`,
        POWERTOOLS_METRICS_NAMESPACE,
        LOG_LEVEL: props.logs.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        banner: ESM_BANNER,
        externalModules: NEVER_BUNDLED,
        esbuildArgs: props.esbuildArgs,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) => props.afterBundling?.(inputDir, outputDir) ?? [],
        },
      },
    });
    (this.node.defaultChild as lambda.CfnFunction).addMetadata(SOURCE_ENTRY_METADATA, `functions/${props.step}/handler.ts`);
    acknowledge(
      this,
      'AwsSolutions-L1',
      'Node.js 22 on purpose: the training container image is built on the Lambda Node.js 22 base image, and all steps run the same Node major (they share lib/ code); they move to a newer runtime together.',
    );
  }
}
