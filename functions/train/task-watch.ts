import { SendTaskHeartbeatCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { FargateSettings } from './fargate-settings.ts';

/** SIGTERM: ECS StopTask, a deployment or scale-in. Reported with SendTaskFailure. */
export class TaskStoppedError extends Error {
  override readonly name = 'TaskStopped';
}

/** The state's TimeoutSeconds is about to pass. Reported with SendTaskFailure. */
export class TrainingDeadlineExceededError extends Error {
  override readonly name = 'TrainingDeadlineExceeded';
}

/** Step Functions no longer waits for this task (timed out, aborted, failed): nobody to report to. */
export class TaskAbandonedError extends Error {
  override readonly name = 'TaskAbandoned';
}

/** What SendTaskHeartbeat answers once the execution stopped waiting for the token. */
export const DEAD_TOKEN_ERRORS: readonly string[] = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'];

/** Where SIGTERM comes from: the process, or an EventEmitter in tests. */
export interface SignalSource {
  on(event: 'SIGTERM', listener: () => void): unknown;
  off(event: 'SIGTERM', listener: () => void): unknown;
}

export type Log = (message: string, extra?: Record<string, unknown>) => void;

/** setTimeout wraps delays above this (~24.8 days) to 1 ms; a state timeout may be years. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Everything that can end a Fargate training before it finishes, as one AbortSignal: heartbeats
 * (sent at once, then every `heartbeatMs`) that learn the execution stopped waiting, the state's
 * deadline, and SIGTERM. `signal.reason` says which (one of the errors above).
 */
export class TaskWatch {
  private readonly controller = new AbortController();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly onSigterm = () => {
    this.log('SIGTERM received: stopping training');
    this.stopWith(new TaskStoppedError('the container received SIGTERM (ECS StopTask, a deployment or scale-in) and stopped training'));
  };

  constructor(
    private readonly options: {
      sfn?: SFNClient;
      taskToken?: string;
      settings: Pick<FargateSettings, 'heartbeatMs' | 'deadline'>;
      signals: SignalSource;
      log: Log;
    },
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Resolves with the reason once something stops the task (never, if nothing does). */
  whenStopped(): Promise<Error> {
    return new Promise((resolve) => {
      if (this.signal.aborted) resolve(this.signal.reason);
      else this.signal.addEventListener('abort', () => resolve(this.signal.reason), { once: true });
    });
  }

  /** Listens for SIGTERM, arms the deadline, sends the first heartbeat and schedules the others. */
  async start(): Promise<void> {
    this.options.signals.on('SIGTERM', this.onSigterm);
    this.armDeadline();
    if (this.options.sfn && this.options.taskToken) {
      await this.beat();
      if (!this.signal.aborted) {
        this.heartbeatTimer = setInterval(() => void this.beat(), this.options.settings.heartbeatMs);
        this.heartbeatTimer.unref();
      }
    }
  }

  /** Clears the timers and removes the SIGTERM listener. */
  dispose(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.deadlineTimer);
    this.options.signals.off('SIGTERM', this.onSigterm);
  }

  private stopWith(reason: Error): void {
    if (this.signal.aborted) return;
    clearInterval(this.heartbeatTimer);
    this.controller.abort(reason);
  }

  private async beat(): Promise<void> {
    try {
      await this.options.sfn!.send(new SendTaskHeartbeatCommand({ taskToken: this.options.taskToken }));
    } catch (error) {
      const { name, message } = error as Error;
      this.log('heartbeat failed', { error: name, cause: message });
      if (DEAD_TOKEN_ERRORS.includes(name)) {
        this.stopWith(new TaskAbandonedError(`SendTaskHeartbeat answered ${name}: the execution no longer waits for this task`, { cause: error }));
      }
    }
  }

  private armDeadline(): void {
    const deadline = this.options.settings.deadline;
    if (!deadline) return;
    const remaining = deadline.stopAt - Date.now();
    if (remaining > MAX_TIMER_DELAY_MS) {
      this.deadlineTimer = setTimeout(() => this.armDeadline(), MAX_TIMER_DELAY_MS);
    } else if (remaining > 0) {
      this.deadlineTimer = setTimeout(() => this.onDeadline(), remaining);
    } else {
      this.onDeadline();
    }
    this.deadlineTimer?.unref();
  }

  private onDeadline(): void {
    const deadline = this.options.settings.deadline!;
    this.log('the state is about to time out: stopping training', { stopAt: new Date(deadline.stopAt).toISOString() });
    this.stopWith(
      new TrainingDeadlineExceededError(
        `the state's timeout (TimeoutSeconds ${deadline.timeoutSeconds}, entered at ${deadline.enteredTime}) was about to pass: ` +
          `training stopped ${deadline.marginSeconds} s before it`,
      ),
    );
  }

  private log(message: string, extra?: Record<string, unknown>): void {
    this.options.log(message, extra);
  }
}
