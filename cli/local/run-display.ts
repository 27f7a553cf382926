import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import type { TrainHooks } from '../../lib/model/train.ts';
import type { CloudObservers, LocalCloud, SandboxSource } from './cloud/local-cloud.ts';
import { LogDisplay } from './log-display.ts';
import { type ExecutionEvent, ProgressPrinter } from './progress.ts';
import { TrainingDisplay } from './training-display.ts';

/**
 * Everything a local run prints, in one place: the execution's timeline (./progress.ts), the
 * sandboxes' log records (./log-display.ts), training progress from the one progress channel
 * (./training-display.ts), and the runner's own lines (the cloud, uploads, what is left over).
 * The orchestration (./runner.ts) only reports what happened.
 */
export interface RunDisplayOptions {
  /** Where lines go; default process.stderr; false for none. */
  progress?: { write(text: string): unknown } | false;
  /** Log records at or above this level are shown. Default WARN. */
  logLevel?: LogLevel;
  /** Training progress (the CLI's progress bar); without them each epoch is a timeline line. */
  trainHooks?: TrainHooks;
  /**
   * Also show the sandboxes' lines that are not log records (TensorFlow's absl/oneDNN start-up
   * notice, Node's and the AWS SDK's warnings): `fmnist run` sets it under FMNIST_DEBUG=1.
   * Default: only at log level DEBUG.
   */
  showNotices?: boolean;
}

export class RunDisplay {
  readonly say: (line: string) => void;
  readonly #printer: ProgressPrinter;
  readonly #logs: LogDisplay;
  readonly #training: TrainingDisplay;
  /** The Task state running now: sandbox output belongs to it. */
  #taskState: string | undefined;

  constructor(options: RunDisplayOptions) {
    const stream = options.progress === undefined ? process.stderr : options.progress;
    this.say = stream ? (line) => void stream.write(line + '\n') : () => {};
    this.#printer = new ProgressPrinter(this.say);
    this.#logs = new LogDisplay(this.say, options.logLevel, options.showNotices);
    this.#training = new TrainingDisplay(options.trainHooks, (state, text) => this.#printer.note(state, text));
  }

  /** What the cloud's sandboxes write and relay, while this run owns the cloud. */
  readonly observers: Required<CloudObservers> = {
    onLog: (source, line) => this.#logs.line(sourceName(source), line),
    onProgress: (_source, message) => this.#training.message(this.#taskState ?? 'train', message),
  };

  event(event: ExecutionEvent): void {
    if (event.type === 'StateEntered' && event.state?.type === 'Task') this.#taskState = event.state.name;
    this.#printer.event(event);
  }

  started(executionName: string, template: { source: 'cache' | 'synth' | 'given'; milliseconds: number }, cloud: LocalCloud): void {
    const stack = template.source === 'given' ? 'given' : `from ${template.source} in ${(template.milliseconds / 1000).toFixed(1)} s`;
    const s3 = `${cloud.s3.endpoint} (${cloud.s3.temporary ? 'temporary' : cloud.s3.directory})`;
    this.say(`local run ${executionName}: stack ${stack}, S3 at ${s3}${cloud.timeScale === 1 ? '' : `, time scale ${cloud.timeScale}`}`);
  }

  uploaded(bucket: string, uploads: { path: string; key: string }[]): void {
    for (const upload of uploads) this.say(`  ${upload.path} -> s3://${bucket}/${upload.key}`);
  }

  waitingFor(tasks: number): void {
    this.say(`waiting for ${tasks} task(s) their states gave up on...`);
  }

  orphaned(tasks: { taskArn: string }[]): void {
    for (const task of tasks) {
      this.say(`  warning: Fargate task ${task.taskArn} was still running after the execution ended; in AWS it would keep running, and billing`);
    }
  }

  finished(outDir: string, succeeded: boolean, missing: string[]): void {
    if (succeeded) for (const item of missing) this.say(`  note: ${item} was not in the bucket`);
    this.say(`outputs in ${outDir}`);
  }
}

function sourceName(source: SandboxSource): string {
  return source.kind === 'lambda' ? source.fn.name : `task ${source.task.taskArn.slice(-8)}`;
}
