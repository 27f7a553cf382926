import { DockerImage, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { LAYER_ASSEMBLER_METADATA, repoPath } from './paths.ts';
import { assembleReportRendererLayer, CANVAS_NATIVE_PACKAGE } from './report-renderer-assembly.ts';

export { assembleReportRendererLayer, CANVAS_NATIVE_PACKAGE };

/** Where the layer's pieces land inside Lambda (layers unpack into /opt). */
export const REPORT_FONT_DIR = '/opt/fonts';
export const CANVAS_IN_LAYER = '/opt/nodejs/node_modules/@napi-rs/canvas/index.js';


/**
 * layers/report-renderer: @napi-rs/canvas (JS + the linux-x64-gnu Skia binary, ~35 MB) and the
 * report font at /opt/fonts. Keeping them in a layer keeps the evaluate bundle at a few MB and
 * means a code change re-uploads only that; the layer changes only with the canvas version.
 *
 * Assembled at synth time by copying files already in node_modules: no Docker, no network. The
 * x64 glibc binary is what `npm ci` installs on a Linux x64 machine (CI, this dev box); on
 * another platform, install it once with
 *   npm install --no-save --os=linux --cpu=x64 --libc=glibc @napi-rs/canvas-linux-x64-gnu@<version>
 * (the error below says so). Hence x86_64 for the functions that use the layer.
 */
export class ReportRendererLayer extends Construct {
  readonly layer: lambda.LayerVersion;

  constructor(scope: Construct, id: string, props: { removalPolicy?: RemovalPolicy } = {}) {
    super(scope, id);
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      description: '@napi-rs/canvas (linux-x64-gnu) for the report charts, and the report font at /opt/fonts',
      compatibleArchitectures: [lambda.Architecture.X86_64],
      compatibleRuntimes: [lambda.Runtime.NODEJS_22_X],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      code: lambda.Code.fromAsset(repoPath('layers', 'report-renderer'), {
        bundling: {
          // Only used if local assembly is impossible; needs Docker and the network.
          image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
          command: [
            'bash',
            '-c',
            'echo "report-renderer layer: assemble it locally (see infra/report-renderer-layer.ts)" >&2; exit 1',
          ],
          local: { tryBundle: (outputDir) => assembleReportRendererLayer(outputDir) },
        },
      }),
    });
    (this.layer.node.defaultChild as lambda.CfnLayerVersion).addMetadata(LAYER_ASSEMBLER_METADATA, {
      module: 'infra/report-renderer-assembly.ts',
      exportName: 'assembleReportRendererLayer',
    });
  }
}
