import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../../infra/paths.ts';
import { credentialEnvironment, type Credentials } from './credentials.ts';
import type { LambdaSpec, RoleSpec } from './model.ts';
import type { RuntimeReply, RuntimeRequest } from './lambda-runtime.ts';
import { type LimitBreach, type SandboxProcess, startSandboxProcess } from './sandbox-process.ts';

/**
 * Lambda, locally: each function's code runs in execution environments (child processes, see
 * ./sandbox-process.ts and ./lambda-runtime.ts) configured from the template, with the limits
 * Lambda enforces:
 *
 * - the function's Timeout: the environment is killed and the invocation fails with
 *   Sandbox.Timedout (what Step Functions reports for a Lambda that ran out of time);
 * - MemorySize: an environment whose resident set passes it is killed (Runtime.OutOfMemory);
 * - EphemeralStorage: more bytes under /tmp than configured fails the invocation with ENOSPC,
 *   as a full /tmp would;
 * - ReservedConcurrentExecutions: an invocation beyond it is throttled
 *   (Lambda.TooManyRequestsException).
 *
 * The environment variables are the template's plus the ones Lambda sets itself, with the
 * function role's own session credentials; the endpoints point the SDK at the local cloud.
 * Warm environments are reused, as Lambda does; a killed one is replaced by a cold one.
 */
export interface LambdaServiceOptions {
  credentials: Credentials;
  roles: Map<string, RoleSpec>;
  region: string;
  /** AWS_ENDPOINT_URL_* for the SDK inside the environments. */
  endpoints: Record<string, string>;
  /** Extra variables the local cloud itself needs in every environment (not the function's). */
  localEnvironment?: Record<string, string>;
  /** Where the environments' /tmp directories go. */
  scratchRoot: string;
  /** Multiplies every timeout (tests turn minutes into fractions of a second). */
  timeScale: number;
  onLog: (fn: LambdaSpec, line: string, stream: 'stdout' | 'stderr') => void;
  onProgress?: (fn: LambdaSpec, message: unknown) => void;
}

/** An invocation that failed the way Lambda reports it to Step Functions: errorType and the JSON error document. */
export class LambdaInvocationError extends Error {
  constructor(
    readonly errorType: string,
    readonly document: { errorType: string; errorMessage: string; trace?: string[] },
  ) {
    super(JSON.stringify(document));
    this.name = errorType;
  }
}

export interface InvocationReport {
  function: string;
  requestId: string;
  durationMs: number;
  maxMemoryUsedMiB: number;
  scratchUsedMiB: number;
  coldStart: boolean;
  outcome: 'ok' | string;
}

interface Environment {
  sandbox: SandboxProcess;
  /** Resolves when the function's module is imported (the init phase); rejects with the init error. */
  ready: Promise<void>;
  initialised: { resolve: () => void; reject: (error: Error) => void };
  busy: boolean;
  /** Killed or exited: never handed another invocation. */
  dead: boolean;
  pending?: { id: number; resolve: (payload: string) => void; reject: (error: Error) => void };
  breach?: LimitBreach;
}

export class LambdaService {
  readonly reports: InvocationReport[] = [];
  readonly #environments = new Map<string, Environment[]>();
  readonly #opt = new Map<string, Promise<string>>();
  /** Prewarming environments, by function. */
  readonly #starting = new Map<string, Promise<void>>();
  /** Prewarms still waiting for their turn, by function: calling one starts it now. */
  readonly #queued = new Map<string, () => void>();
  #closing = false;
  /** Invocations in progress per function (reserved concurrency counts these). */
  readonly #active = new Map<string, number>();
  #nextId = 0;

  constructor(readonly options: LambdaServiceOptions) {}

  /**
   * Starts one environment for each function ahead of its first invocation, as provisioned
   * concurrency does: the cold starts overlap with other work, and (once warm() resolved) no
   * process start counts against a state's timeout, which matters when time is scaled. An init
   * failure surfaces at the first invocation, as it would.
   *
   * At most `concurrency` start at once, in the order given (the order a run needs them): each
   * start is a Node.js process importing its handler, seconds of CPU, and starting them all at once
   * on a small machine makes the first one ready only when the last is. An invocation of a function
   * still waiting for its turn starts it at once.
   */
  prewarm(fns: LambdaSpec[], options: { concurrency?: number } = {}): void {
    const concurrency = options.concurrency ?? Number.POSITIVE_INFINITY;
    let running = 0;
    const waiting: (() => void)[] = [];
    const next = () => {
      while (running < concurrency && waiting.length > 0) waiting.shift()!();
    };
    for (const fn of fns) {
      // A pool that exists (even empty: another run's prewarm still starting) is kept: replacing
      // it would orphan the environment that run is starting, which shutdown() then never stops.
      if (!fn.code || this.#environments.has(fn.logicalId)) continue;
      const pool: Environment[] = [];
      this.#environments.set(fn.logicalId, pool);
      let go!: () => void;
      const turn = new Promise<void>((resolve) => {
        let started = false;
        go = () => {
          if (started) return;
          started = true;
          running++;
          const index = waiting.indexOf(go);
          if (index >= 0) waiting.splice(index, 1);
          this.#queued.delete(fn.logicalId);
          resolve();
        };
      });
      waiting.push(go);
      this.#queued.set(fn.logicalId, go);
      const starting = turn
        // Shut down before its turn came: no process to start only to stop it.
        .then(() => (this.#closing ? Promise.reject(new Error('shut down')) : this.#start(fn)))
        .then(
          async (environment) => {
            pool.push(environment);
            // Warm means initialised: the module imported (an init error surfaces at the first invocation).
            await environment.ready.catch(() => undefined);
          },
          () => {
            this.#environments.delete(fn.logicalId);
          },
        )
        .finally(() => {
          running--;
          next();
        });
      this.#starting.set(fn.logicalId, starting);
      void starting.finally(() => this.#starting.delete(fn.logicalId));
    }
    next();
  }

  /** Resolves when every prewarmed environment has started (or failed to). */
  async warm(): Promise<void> {
    await Promise.allSettled([...this.#starting.values()]);
  }

  /** Invokes `fn` with `event` (a JSON value) and resolves with its JSON result. */
  async invoke(fn: LambdaSpec, event: unknown): Promise<unknown> {
    this.#queued.get(fn.logicalId)?.();
    await this.#starting.get(fn.logicalId);
    const pool = this.#environments.get(fn.logicalId) ?? [];
    this.#environments.set(fn.logicalId, pool);
    // Counted before any await: concurrent invocations see each other even while one cold-starts.
    const active = this.#active.get(fn.logicalId) ?? 0;
    if (fn.reservedConcurrency !== undefined && active >= fn.reservedConcurrency) {
      throw new LambdaInvocationError('Lambda.TooManyRequestsException', {
        errorType: 'TooManyRequestsException',
        errorMessage: `Rate Exceeded. (${fn.name} has a reserved concurrency of ${fn.reservedConcurrency}, all in use)`,
      });
    }
    this.#active.set(fn.logicalId, active + 1);
    let environment = pool.find((candidate) => !candidate.busy && !candidate.dead);
    const coldStart = environment === undefined;
    if (environment) environment.busy = true;
    try {
      if (!environment) {
        environment = await this.#start(fn);
        environment.busy = true;
        pool.push(environment);
      }
    } catch (error) {
      this.#active.set(fn.logicalId, (this.#active.get(fn.logicalId) ?? 1) - 1);
      throw error;
    }
    const requestId = randomUUID();
    const started = performance.now();
    const timeoutMs = fn.timeoutSeconds * 1000 * this.options.timeScale;
    let outcome = 'ok';
    try {
      await environment.ready;
      const payload = await this.#call(fn, environment, event, requestId, timeoutMs);
      return JSON.parse(payload) as unknown;
    } catch (error) {
      outcome = (error as Error).name;
      throw error;
    } finally {
      environment.busy = false;
      this.#active.set(fn.logicalId, (this.#active.get(fn.logicalId) ?? 1) - 1);
      this.reports.push({
        function: fn.name,
        requestId,
        durationMs: performance.now() - started,
        maxMemoryUsedMiB: Math.round(environment.sandbox.peakMemoryBytes() / 2 ** 20),
        scratchUsedMiB: Math.round(environment.sandbox.peakScratchBytes() / 2 ** 20),
        coldStart,
        outcome,
      });
      if (environment.dead) {
        await this.#discard(fn, environment);
      }
    }
  }

  async #call(fn: LambdaSpec, environment: Environment, event: unknown, requestId: string, timeoutMs: number): Promise<string> {
    const id = ++this.#nextId;
    const deadline = Date.now() + timeoutMs;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        environment.dead = true;
        environment.sandbox.kill('SIGKILL');
        environment.pending = undefined;
        reject(
          new LambdaInvocationError('Sandbox.Timedout', {
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(fn.timeoutSeconds * this.options.timeScale).toFixed(2)} seconds`,
          }),
        );
      }, timeoutMs);
      const settle = <T>(action: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        environment.pending = undefined;
        action(value);
      };
      environment.pending = { id, resolve: settle(resolve), reject: settle(reject) };
      const request: RuntimeRequest = { type: 'invoke', id, event, deadline, requestId, functionArn: fn.arn };
      environment.sandbox.child.send(request);
    });
  }

  /** A cold start: a new execution environment for `fn`, its module being imported (`ready`). */
  async #start(fn: LambdaSpec): Promise<Environment> {
    if (!fn.code) {
      throw new LambdaInvocationError('Lambda.ServiceException', {
        errorType: 'ServiceException',
        errorMessage: `the local cloud does not know the code of ${fn.name} (a zip function needs "fmnist:entry" metadata, an image function a CMD)`,
      });
    }
    const env = this.#environmentVariables(fn, await this.#layers(fn));
    let environment!: Environment;
    // What a crashed runtime last wrote explains the crash (Lambda shows it in the function's log).
    const stderrTail: string[] = [];
    const sandbox = await startSandboxProcess({
      module: 'cli/local/cloud/lambda-runtime.ts',
      args: [fn.code.module, fn.code.exportName],
      env,
      tmpDir: join(this.options.scratchRoot, `${fn.name}-${randomUUID().slice(0, 8)}`, 'tmp'),
      limits: { memoryBytes: fn.memoryMiB * 2 ** 20, scratchBytes: fn.ephemeralMiB * 2 ** 20 },
      ipc: true,
      onLine: (line, streamName) => {
        if (streamName === 'stderr') {
          stderrTail.push(line);
          if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
        }
        this.options.onLog(fn, line, streamName);
      },
      onBreach: (breach) => {
        if (environment.breach) return;
        environment.breach = breach;
        environment.dead = true;
        environment.sandbox.kill('SIGKILL');
        environment.pending?.reject(limitFailure(fn, breach));
      },
    });
    environment = newEnvironment(sandbox);
    sandbox.child.on('message', (reply: RuntimeReply) => this.#onReply(fn, environment, reply));
    void sandbox.exited.then(({ code, signal }) => {
      environment.dead = true;
      const failure = new LambdaInvocationError('Runtime.ExitError', {
        errorType: 'Runtime.ExitError',
        errorMessage: `Error: Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`}${stderrTail.length > 0 ? `\n${stderrTail.join('\n')}` : ''}`,
      });
      environment.initialised.reject(failure);
      environment.pending?.reject(failure);
    });
    return environment;
  }

  /** The template's variables (paths under /opt pointing at the assembled layers), Lambda's own, the role's session credentials and the local endpoints. */
  #environmentVariables(fn: LambdaSpec, opt: string | undefined): Record<string, string> {
    const role = this.options.roles.get(fn.role)!;
    // Layers unpack into /opt in Lambda; here into a directory of the cloud's, which paths under /opt in the environment name instead.
    const variables = Object.fromEntries(
      Object.entries(fn.environment).map(([name, value]) => [name, opt !== undefined && /^\/opt(\/|$)/.test(value) ? opt + value.slice(4) : value]),
    );
    const stream = `${new Date().toISOString().slice(0, 10).replace(/-/g, '/')}/[$LATEST]${randomUUID().replace(/-/g, '')}`;
    return {
      ...variables,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMiB),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroup?.name ?? `/aws/lambda/${fn.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: stream,
      AWS_EXECUTION_ENV: fn.runtime === 'image' ? 'AWS_Lambda_Image' : `AWS_Lambda_${fn.runtime}`,
      AWS_REGION: this.options.region,
      AWS_DEFAULT_REGION: this.options.region,
      ...credentialEnvironment(this.options.credentials.issue({ role, session: fn.name })),
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      ...this.options.endpoints,
      ...this.options.localEnvironment,
    };
  }

  /** What the runtime (./lambda-runtime.ts) answers: init done or failed, an invocation's result or error, training progress. */
  #onReply(fn: LambdaSpec, environment: Environment, reply: RuntimeReply): void {
    const errorOf = (document: { errorType: string; errorMessage: string; trace: string[] }) =>
      new LambdaInvocationError(document.errorType, { errorType: document.errorType, errorMessage: document.errorMessage, trace: document.trace });
    switch (reply.type) {
      case 'ready':
        environment.initialised.resolve();
        break;
      case 'init-error':
        environment.initialised.reject(errorOf(reply));
        break;
      case 'result':
        if (environment.pending?.id === reply.id) environment.pending.resolve(reply.payload);
        break;
      case 'error':
        if (environment.pending?.id === reply.id) environment.pending.reject(errorOf(reply));
        break;
      case 'progress':
        this.options.onProgress?.(fn, reply.message);
        break;
    }
  }

  /** The function's /opt: its layers assembled in order (once per function and cloud); undefined without layers. */
  #layers(fn: LambdaSpec): Promise<string | undefined> {
    if (fn.layers.length === 0) return Promise.resolve(undefined);
    let opt = this.#opt.get(fn.logicalId);
    if (!opt) {
      opt = (async () => {
        const dir = join(this.options.scratchRoot, `opt-${fn.name}`);
        await mkdir(dir, { recursive: true });
        for (const layer of fn.layers) {
          if (!layer.assembler) throw new Error(`layer ${layer.logicalId} of ${fn.name} has no assembler metadata: the local cloud cannot mount it`);
          const loaded = (await import(pathToFileURL(join(REPO_ROOT, layer.assembler.module)).href)) as Record<string, (dir: string) => unknown>;
          await loaded[layer.assembler.exportName](dir);
        }
        return dir;
      })();
      this.#opt.set(fn.logicalId, opt);
    }
    return opt;
  }

  async #discard(fn: LambdaSpec, environment: Environment): Promise<void> {
    // In place: invocations in flight hold this array and add their cold starts to it.
    const pool = this.#environments.get(fn.logicalId) ?? [];
    const index = pool.indexOf(environment);
    if (index >= 0) pool.splice(index, 1);
    environment.sandbox.kill('SIGKILL');
    await environment.sandbox.exited;
    await environment.sandbox.cleanup();
  }

  /** Stops every environment (the end of a run). */
  async shutdown(): Promise<void> {
    this.#closing = true;
    for (const go of [...this.#queued.values()]) go();
    await Promise.allSettled([...this.#starting.values()]);
    const all = [...this.#environments.entries()].flatMap(([, pool]) => pool);
    this.#environments.clear();
    await Promise.all(
      all.map(async (environment) => {
        environment.sandbox.kill('SIGKILL');
        await environment.sandbox.exited;
        await environment.sandbox.cleanup();
      }),
    );
  }
}

function newEnvironment(sandbox: SandboxProcess): Environment {
  let initialised!: Environment['initialised'];
  const ready = new Promise<void>((resolve, reject) => (initialised = { resolve, reject }));
  ready.catch(() => {});
  return { sandbox, ready, initialised, busy: false, dead: false };
}

/** What Lambda reports when an environment crosses its memory or /tmp limit. */
function limitFailure(fn: LambdaSpec, breach: LimitBreach): LambdaInvocationError {
  return breach.kind === 'memory'
    ? new LambdaInvocationError('Runtime.OutOfMemory', {
        errorType: 'Runtime.OutOfMemory',
        errorMessage: `Error: Runtime exited with error: signal: killed (${fn.name} used ${mib(breach.bytes)} MB of its ${fn.memoryMiB} MB)`,
      })
    : new LambdaInvocationError('Error', {
        errorType: 'Error',
        errorMessage: `ENOSPC: no space left on device: ${fn.name} wrote ${mib(breach.bytes)} MB under /tmp, over its ephemeral storage of ${fn.ephemeralMiB} MB`,
      });
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
const STDERR_TAIL_LINES = 10;
