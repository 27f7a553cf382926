import { Duration, Size, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FARGATE_ENV } from '../lib/workflow/fargate-task.ts';
import { DATA_ACCESS, grantDataAccess } from './data-access.ts';
import type { DataBucket } from './data-bucket.ts';
import { functionRole } from './function-role.ts';
import { acknowledge } from './nag.ts';
import { POWERTOOLS_METRICS_NAMESPACE, retentionDays, type LogSettings } from './node-function.ts';
import { REPO_ROOT } from './paths.ts';

/**
 * The contract between this stack and functions/train/Dockerfile (build context: the repository
 * root, minus TRAIN_IMAGE_EXCLUDES; platform linux/amd64):
 * - it is a Lambda base image for Node.js 22: `ARG BASE_IMAGE` (default public.ecr.aws/lambda/nodejs:22)
 *   names it for both stages, so the stack can pin it by digest (context trainBaseImage); code in /var/task;
 * - CMD runs the train Lambda handler: /var/task/functions/train/handler.{mjs,js} exporting
 *   `handler` (Lambda's runtime cannot load .ts: bundle or compile it in the image);
 * - /var/task/functions/train/fargate.mjs is the Fargate entry (functions/train/fargate.ts,
 *   built the same way); the task runs `node functions/train/fargate.mjs` in /var/task, with
 *   the image's ENTRYPOINT (/lambda-entrypoint.sh) replaced by `node` (on the PATH in the image);
 * - @tensorflow/tfjs-node works in it (built against the TensorFlow wheel), node_modules
 *   installed inside the image: the build context has no node_modules;
 * - the runtime stage runs as `USER` TRAIN_IMAGE.user (non-root; Lambda ignores it and runs the
 *   code as its own unprivileged user) and declares `VOLUME ["/tmp"]` with /tmp mode 1777: on
 *   Fargate, whose root filesystem is read-only here, the scratch bind mount at /tmp takes the
 *   image directory's ownership and mode only when a VOLUME names that path (otherwise it is
 *   root-owned 0755 and the non-root user could not write it).
 */
export const TRAIN_IMAGE = {
  directory: REPO_ROOT,
  file: 'functions/train/Dockerfile',
  lambdaCmd: ['functions/train/handler.handler'],
  fargateEntryPoint: ['node'],
  fargateCommand: ['functions/train/fargate.mjs'],
  workingDirectory: '/var/task',
  /** The Dockerfile's `ARG` naming the base image of both stages. */
  baseImageArg: 'BASE_IMAGE',
  /** uid:gid of the runtime stage's `USER`, and of the Fargate container. */
  user: '1000:1000',
  /** The only writable path of the Fargate container (a bind mount of the task's ephemeral storage). */
  scratchPath: '/tmp',
} as const;

/** Left out of the Docker build context (on top of a .dockerignore, if there is one). */
export const TRAIN_IMAGE_EXCLUDES = [
  '.git',
  'node_modules',
  '**/node_modules',
  'cdk.out',
  'cdk.out*',
  'data',
  'runs',
  'out',
  '.cache',
  'test',
  'bench',
  '*.log',
  // Deployment code and the CLI: changing the stack or a command must not rebuild the training image.
  'infra',
  'cli',
  'bin',
  'cdk.json',
  'layers',
  '.ci',
];

export interface TrainingProps {
  readonly data: DataBucket;
  readonly logs: LogSettings;
  /** Fargate task size; default 4 vCPU / 16 GB. */
  readonly fargateCpu?: number;
  readonly fargateMemoryMiB?: number;
  /** BASE_IMAGE for the Dockerfile (a digest-pinned reference); default: the Dockerfile's own. */
  readonly baseImage?: string;
  /** Reserved concurrency of the train Lambda; none reserved when undefined. */
  readonly reservedConcurrency?: number;
}

export const TRAIN_LAMBDA_MEMORY_MIB = 10_240;
const LAMBDA_THREADS = 6; // 10,240 MB gives 6 vCPUs

/**
 * The training image, built once from functions/train/Dockerfile and used twice: by the train
 * Lambda (10,240 MB = 6 vCPUs, 15 minutes) and by the Fargate task for jobs that do not fit in
 * 15 minutes. Both read datasets/ and write runs/<runId>/model/; the task also reads the
 * TrainEvent the state machine wrote for it (DATA_ACCESS in data-access.ts).
 *
 * Fargate networking costs nothing while idle: a VPC with public subnets only and no NAT
 * gateway; the task gets a public IP (to reach ECR, S3, CloudWatch Logs and Step Functions) and
 * a security group with no inbound rule and only HTTPS out. (The alternative, isolated subnets
 * with an S3 gateway endpoint and ECR/Logs/States interface endpoints, costs per endpoint-hour.)
 */
export class Training extends Construct {
  readonly image: ecrAssets.DockerImageAsset;
  readonly trainFunction: lambda.DockerImageFunction;
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly taskSecurityGroup: ec2.SecurityGroup;
  /** Memory of the two runtimes, for the plan (ValidateInput) to size the training by. */
  readonly memoryMiB: { readonly lambda: number; readonly fargate: number };

  constructor(scope: Construct, id: string, props: TrainingProps) {
    super(scope, id);
    const { data, logs: logSettings } = props;
    const common = {
      DATA_BUCKET: data.bucket.bucketName,
      POWERTOOLS_METRICS_NAMESPACE,
      LOG_LEVEL: logSettings.logLevel,
    };
    // One inter-op thread per vCPU the function or task is given (TensorFlow may otherwise size
    // its pools from the host's cores) and one intra-op thread: the graph step then runs each
    // batch as that many chains of single-threaded kernels side by side (lib/model/graph/chains.ts),
    // faster than every small kernel split across threads (bench/README.md, "Chains").
    const threads = (n: number) => ({
      TF_NUM_INTRAOP_THREADS: '1',
      TF_NUM_INTEROP_THREADS: String(n),
      OMP_NUM_THREADS: '1',
    });

    this.image = new ecrAssets.DockerImageAsset(this, 'Image', {
      directory: TRAIN_IMAGE.directory,
      file: TRAIN_IMAGE.file,
      platform: ecrAssets.Platform.LINUX_AMD64,
      exclude: TRAIN_IMAGE_EXCLUDES,
      displayName: 'fmnist-train',
      buildArgs: props.baseImage ? { [TRAIN_IMAGE.baseImageArg]: props.baseImage } : undefined,
    });

    // --- train Lambda ---------------------------------------------------------------------------
    const trainFunctionLogs = new logs.LogGroup(this, 'TrainFunctionLogs', {
      retention: retentionDays(logSettings.logRetentionDays),
      removalPolicy: logSettings.removalPolicy,
    });
    this.trainFunction = new lambda.DockerImageFunction(this, 'TrainFunction', {
      description: 'Trains the CNN with tfjs-node (container image)',
      code: lambda.DockerImageCode.fromEcr(this.image.repository, {
        tagOrDigest: this.image.imageTag,
        cmd: [...TRAIN_IMAGE.lambdaCmd],
      }),
      architecture: lambda.Architecture.X86_64,
      memorySize: TRAIN_LAMBDA_MEMORY_MIB,
      timeout: Duration.minutes(15),
      ephemeralStorageSize: Size.gibibytes(4),
      reservedConcurrentExecutions: props.reservedConcurrency,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup: trainFunctionLogs,
      role: functionRole(this, 'TrainFunctionRole', trainFunctionLogs, 'fmnist train function'),
      environment: { ...common, POWERTOOLS_SERVICE_NAME: 'fmnist-train', ...threads(LAMBDA_THREADS) },
    });
    grantDataAccess(data.bucket, this.trainFunction, DATA_ACCESS.trainFunction);

    // --- Fargate ---------------------------------------------------------------------------------
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
    });
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.taskSecurityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: 'fmnist training task: no inbound, HTTPS out only',
      allowAllOutbound: false,
    });
    this.taskSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs (ECR, S3, Logs, Step Functions)');

    const cpu = props.fargateCpu ?? 4096;
    const fargateMemoryMiB = props.fargateMemoryMiB ?? 16_384;
    this.memoryMiB = { lambda: TRAIN_LAMBDA_MEMORY_MIB, fargate: fargateMemoryMiB };
    const scratch = 'scratch';
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu,
      memoryLimitMiB: fargateMemoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      // A bind mount of the task's ephemeral storage (20 GiB): the container's only writable path.
      volumes: [{ name: scratch }],
    });
    const taskLogs = new logs.LogGroup(this, 'TaskLogs', {
      retention: retentionDays(logSettings.logRetentionDays),
      removalPolicy: logSettings.removalPolicy,
    });
    this.container = this.taskDefinition.addContainer('train', {
      image: ecs.ContainerImage.fromDockerImageAsset(this.image),
      entryPoint: [...TRAIN_IMAGE.fargateEntryPoint],
      command: [...TRAIN_IMAGE.fargateCommand],
      workingDirectory: TRAIN_IMAGE.workingDirectory,
      user: TRAIN_IMAGE.user,
      readonlyRootFilesystem: true,
      essential: true,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'train', logGroup: taskLogs }),
      environment: {
        ...common,
        POWERTOOLS_SERVICE_NAME: 'fmnist-train-fargate',
        AWS_REGION: Stack.of(this).region,
        [FARGATE_ENV.heartbeatSeconds]: '60',
        [FARGATE_ENV.taskCpuUnits]: String(cpu),
        [FARGATE_ENV.taskMemoryMiB]: String(fargateMemoryMiB),
        // The image's user has no home directory; anything that writes under $HOME lands on the
        // scratch volume instead of failing on the read-only root (nothing known does today).
        HOME: TRAIN_IMAGE.scratchPath,
        ...threads(Math.max(1, Math.floor(cpu / 1024))),
      },
    });
    this.container.addMountPoints({ sourceVolume: scratch, containerPath: TRAIN_IMAGE.scratchPath, readOnly: false });
    grantDataAccess(data.bucket, this.taskDefinition.taskRole, DATA_ACCESS.trainTask);

    acknowledge(
      this.taskDefinition.obtainExecutionRole(),
      'AwsSolutions-IAM5[Resource::*]',
      'The ECS task execution role needs ecr:GetAuthorizationToken, which only accepts Resource "*"; image pulls (BatchGetImage, GetDownloadUrlForLayer) are scoped to the asset repository, log writes to the task log group.',
    );
    acknowledge(
      this.taskDefinition,
      'AwsSolutions-ECS2',
      'The environment holds no secrets: the bucket name, thread counts, log settings, the heartbeat interval and the region. Per run, the state machine adds the S3 key of the TrainEvent, the task token and the state\'s start time and timeout as container overrides.',
    );
    acknowledge(
      this.vpc,
      'AwsSolutions-VPC7',
      'The VPC exists only so the Fargate training task can run: public subnets, no NAT, a security group with no inbound rule and HTTPS-only egress to AWS APIs. Flow logs would add cost without a network to audit; the ECS task, S3 access logs and the execution history record what the task did.',
    );
  }
}
