import { Duration, Size, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '../lib/env.ts';
import { REGISTRY_EVENT_SOURCE } from '../lib/workflow/registry-events.ts';
import { DATA_ACCESS, grantDataAccess } from './data-access.ts';
import type { DataBucket } from './data-bucket.ts';
import { FmnistFunction, type LogSettings } from './node-function.ts';
import { CANVAS_IN_LAYER, REPORT_FONT_DIR, ReportRendererLayer } from './report-renderer-layer.ts';

export interface StepFunctionsProps {
  readonly data: DataBucket;
  readonly logs: LogSettings;
  /** FMNIST_CODE_VERSION of the evaluate and promote functions (infra/code-version.ts). */
  readonly codeVersion: string;
}

/** Ingest and evaluate get one timeout each; the workflow's task timeouts add a margin to these. */
export const STEP_TIMEOUTS = {
  validate: Duration.seconds(30),
  ingest: Duration.minutes(10),
  evaluate: Duration.minutes(10),
  promote: Duration.minutes(1),
  requestApproval: Duration.seconds(30),
  sweep: Duration.minutes(1),
} as const;

/**
 * The zip-packaged step Lambdas (train has its own container image, see training.ts).
 *
 * - validate / promote: tiny, arm64 (cheaper per GB-s; pure JS).
 * - ingest: streams CSV (gzip) from S3 through validation into shards in /tmp; pure JS, arm64,
 *   2 GB (more memory = more CPU for parsing and gunzip), 10 min, 2 GB /tmp for the shards.
 * - evaluate: loads the model with tfjs' wasm backend (tfjs-node is not shipped in zip Lambdas)
 *   and draws the charts with @napi-rs/canvas from the report-renderer layer: x86_64 because the
 *   layer is assembled offline from the locally installed linux-x64 binary; 3 GB, 10 min.
 *   The wasm binaries ship in the bundle (see wasmBinariesBesideBundle).
 *
 * S3 rights: exactly DATA_ACCESS (data-access.ts); validate only the run records.
 */
export class StepLambdas extends Construct {
  readonly validate: lambda.IFunction;
  readonly ingest: lambda.IFunction;
  readonly evaluate: lambda.IFunction;
  readonly promote: lambda.IFunction;
  readonly requestApproval: lambda.IFunction;
  readonly sweep: lambda.IFunction;
  readonly renderer: ReportRendererLayer;

  constructor(scope: Construct, id: string, props: StepFunctionsProps) {
    super(scope, id);
    const { data, logs } = props;
    const environment = { DATA_BUCKET: data.bucket.bucketName };

    this.validate = new FmnistFunction(this, 'Validate', {
      step: 'validate',
      description: 'Checks the execution input, claims the run id (runs/<runId>/run.json) and plans the run',
      memorySize: 256,
      timeout: STEP_TIMEOUTS.validate,
      architecture: lambda.Architecture.ARM_64,
      logs,
    });
    grantDataAccess(data.bucket, this.validate, DATA_ACCESS.validate);

    const ingestStorage = Size.gibibytes(2);
    const ingest = new FmnistFunction(this, 'Ingest', {
      step: 'ingest',
      description: 'Streams raw CSVs from S3 into validated dataset shards',
      memorySize: 2048,
      timeout: STEP_TIMEOUTS.ingest,
      ephemeralStorageSize: ingestStorage,
      architecture: lambda.Architecture.ARM_64,
      // Lambda does not tell a function how much /tmp it has; ingest stages the shards there.
      // The code version keys step caching (lib/workflow/step-cache.ts).
      environment: { ...environment, FMNIST_EPHEMERAL_STORAGE_MIB: String(ingestStorage.toMebibytes()), [ENV.codeVersion]: props.codeVersion },
      logs,
    });
    grantDataAccess(data.bucket, ingest, DATA_ACCESS.ingest);
    this.ingest = ingest;

    this.renderer = new ReportRendererLayer(this, 'ReportRenderer', { removalPolicy: logs.removalPolicy });
    const evaluate = new FmnistFunction(this, 'Evaluate', {
      step: 'evaluate',
      description: 'Evaluates a trained model on the test split and writes the report',
      memorySize: 3008,
      timeout: STEP_TIMEOUTS.evaluate,
      ephemeralStorageSize: Size.gibibytes(1),
      architecture: lambda.Architecture.X86_64,
      layers: [this.renderer.layer],
      environment: { ...environment, [ENV.fontDir]: REPORT_FONT_DIR, [ENV.codeVersion]: props.codeVersion },
      esbuildArgs: { '--alias': `@napi-rs/canvas=${CANVAS_IN_LAYER}`, '--external:/opt/*': true },
      afterBundling: wasmBinariesBesideBundle,
      logs,
    });
    grantDataAccess(data.bucket, evaluate, DATA_ACCESS.evaluate);
    this.evaluate = evaluate;

    const promote = new FmnistFunction(this, 'Promote', {
      step: 'promote',
      description: 'Registers the evaluated model (models/registry/) and makes it champion of its test split when it beats the champion or is approved',
      memorySize: 256,
      timeout: STEP_TIMEOUTS.promote,
      architecture: lambda.Architecture.ARM_64,
      environment: { ...environment, [ENV.codeVersion]: props.codeVersion },
      logs,
    });
    grantDataAccess(data.bucket, promote, DATA_ACCESS.promote);
    // The registry's Champion Promoted event (lib/workflow/registry-events.ts) on the default bus.
    promote.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
        // events:source is a multivalued key (ArrayOfString in the service authorization reference):
        // ForAnyValue matches the one source of each entry; a plain StringEquals is not satisfied.
        conditions: { 'ForAnyValue:StringEquals': { 'events:source': REGISTRY_EVENT_SOURCE } },
      }),
    );
    this.promote = promote;

    this.requestApproval = new FmnistFunction(this, 'RequestApproval', {
      step: 'request-approval',
      description: 'Files a run\'s approval request (the AwaitApproval task token) for fmnist models approve/reject',
      memorySize: 256,
      timeout: STEP_TIMEOUTS.requestApproval,
      architecture: lambda.Architecture.ARM_64,
      environment,
      logs,
    });
    grantDataAccess(data.bucket, this.requestApproval, DATA_ACCESS.requestApproval);

    this.sweep = new FmnistFunction(this, 'Sweep', {
      step: 'sweep',
      description: 'A sweep\'s record and rounds: plans them, keeps the best trials (successive halving), picks the best and writes the sweep page',
      memorySize: 512,
      timeout: STEP_TIMEOUTS.sweep,
      architecture: lambda.Architecture.ARM_64,
      environment,
      logs,
    });
    grantDataAccess(data.bucket, this.sweep, DATA_ACCESS.sweep);
  }
}

/**
 * tfjs' wasm backend JS is bundled into index.mjs, but its .wasm binaries must be files:
 * lib/model/backend.ts finds them with require.resolve('@tensorflow/tfjs-backend-wasm') from the
 * bundle, so the bundle carries a minimal node_modules/@tensorflow/tfjs-backend-wasm holding the
 * package.json, a stub main file (the real code is in index.mjs) and dist/*.wasm.
 */
export function wasmBinariesBesideBundle(inputDir: string, outputDir: string): string[] {
  const source = `${inputDir}/node_modules/@tensorflow/tfjs-backend-wasm`;
  const target = `${outputDir}/node_modules/@tensorflow/tfjs-backend-wasm`;
  const main = 'dist/tf-backend-wasm.node.js';
  return [
    `mkdir -p "${target}/dist"`,
    `cp "${source}/dist/"*.wasm "${target}/dist/"`,
    `node -e 'const p=require(process.argv[1]);require("fs").writeFileSync(process.argv[2],JSON.stringify({name:p.name,version:p.version,main:"${main}"}))' "${source}/package.json" "${target}/package.json"`,
    `echo 'throw new Error("bundled into index.mjs: this copy only carries the .wasm files");' > "${target}/${main}"`,
  ];
}
