import { isWildcardOnlyAction, runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { CloudModel, PolicyDocument, RoleSpec } from './model.ts';
import { TemplateError } from './template.ts';

/**
 * IAM as AWS evaluates it, for the calls code makes in a local run: every request is authorised
 * against the caller's role policies from the synthesized template (and the resource's policy,
 * e.g. the bucket policy), with @cloud-copilot/iam-simulate, a maintained simulator that knows
 * every action's resource types and condition keys and implements all condition operators.
 * (AGPL-3.0: a development-time dependency of the local runtime only; nothing deployed imports
 * cli/local. pbac, the MIT alternative, matches actions case-sensitively, rejects the string
 * forms of Action/Resource that CloudFormation uses, and evaluates only the first key of a
 * condition block, so it would both allow and deny wrongly.)
 *
 * One deliberate deviation from the simulator's data: states:SendTaskSuccess/Failure/Heartbeat
 * are listed by AWS as supporting no resource types, yet AWS authorises them against the state
 * machine that issued the token (CDK's grantTaskResponse grants exactly that, and AWS's
 * AccessDenied messages for them name the state machine ARN). They are evaluated against the
 * state machine ARN here, so a grant on "*" and a grant on the state machine both work and a
 * grant on another state machine does not.
 */
export interface Caller {
  role: RoleSpec;
  /** The session name (Lambda: the function name; ECS: the task id). */
  session: string;
}

export interface AccessRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
  /** A resource-based policy that also applies (a bucket policy). */
  resourcePolicy?: PolicyDocument;
}

export const sessionArn = (caller: Caller, account: string, partition = 'aws') =>
  `arn:${partition}:sts::${account}:assumed-role/${caller.role.name}/${caller.session}`;

/** What AWS answers a denied call with: the name S3 and most JSON APIs use, and AWS's message. */
export class AccessDeniedError extends Error {
  constructor(
    readonly action: string,
    readonly resource: string,
    message: string,
  ) {
    super(message);
    this.name = 'AccessDenied';
  }
}

const TASK_TOKEN_ACTIONS = new Set(['states:sendtasksuccess', 'states:sendtaskfailure', 'states:sendtaskheartbeat']);

export class IamAuthorizer {
  readonly #cache = new Map<string, 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied'>();

  constructor(readonly model: CloudModel) {}

  async authorize(caller: Caller, request: AccessRequest): Promise<void> {
    const result = await this.#evaluate(caller, request);
    if (result === 'Allowed') return;
    const principal = sessionArn(caller, this.model.bindings.account, this.model.bindings.partition);
    const reason =
      result === 'ExplicitlyDenied'
        ? `with an explicit deny in ${request.resourcePolicy ? 'an identity-based or a resource-based' : 'an identity-based'} policy`
        : `because no identity-based policy allows the ${request.action} action`;
    throw new AccessDeniedError(
      request.action,
      request.resource,
      `User: ${principal} is not authorized to perform: ${request.action} on resource: ${request.resource} ${reason}`,
    );
  }

  /**
   * A call an AWS service makes on its own behalf (EventBridge publishing to a topic): only the
   * resource's policy can allow it (a topic policy, a key policy), with the context the service
   * sends (aws:SourceArn, aws:SourceAccount). Denied: AccessDeniedError naming the service.
   */
  async authorizeService(service: string, request: AccessRequest & { resourcePolicy: PolicyDocument | undefined }): Promise<void> {
    const key = JSON.stringify([service, request.action, request.resource, request.context ?? {}, request.resourcePolicy ?? null]);
    let result = this.#cache.get(key);
    if (!result) {
      const response = request.resourcePolicy
        ? await runSimulation(
            {
              identityPolicies: [],
              serviceControlPolicies: [],
              resourceControlPolicies: [],
              resourcePolicy: request.resourcePolicy,
              request: {
                action: request.action,
                principal: service,
                resource: { accountId: this.model.bindings.account, resource: request.resource },
                contextVariables: { 'aws:SecureTransport': 'true', ...request.context },
              },
            },
            {},
          )
        : undefined;
      if (response?.resultType === 'error') {
        throw new TemplateError(`IAM simulation of ${request.action} on ${request.resource} for ${service} failed: ${JSON.stringify(response.errors)}`);
      }
      result = (response?.overallResult ?? 'ImplicitlyDenied') as 'Allowed';
      this.#cache.set(key, result);
    }
    if (result === 'Allowed') return;
    throw new AccessDeniedError(
      request.action,
      request.resource,
      `${service} is not authorized to perform: ${request.action} on resource: ${request.resource} because ${request.resourcePolicy ? 'its resource-based policy does not allow it' : 'it has no resource-based policy'}`,
    );
  }

  async #evaluate(caller: Caller, request: AccessRequest): Promise<string> {
    const key = JSON.stringify([caller.role.logicalId, request.action, request.resource, request.context ?? {}, request.resourcePolicy ?? null]);
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const [service, action] = request.action.split(':');
    const simulation: Simulation = {
      identityPolicies: caller.role.policies.map((policy, index) => ({ name: `${policy.name}#${index}`, policy: policy.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
      request: {
        action: request.action,
        principal: sessionArn(caller, this.model.bindings.account, this.model.bindings.partition),
        resource: { accountId: this.model.bindings.account, resource: request.resource },
        contextVariables: { 'aws:SecureTransport': 'true', ...request.context },
      },
    };
    let result: string;
    if (TASK_TOKEN_ACTIONS.has(request.action.toLowerCase())) {
      result = runUnsafeSimulation(simulation, {});
    } else {
      if (request.resource !== '*' && (await isWildcardOnlyAction(service, action))) {
        throw new TemplateError(`${request.action} takes no resource; the local cloud asked for ${request.resource} (a bug in cli/local)`);
      }
      const response = await runSimulation(simulation, {});
      if (response.resultType === 'error') {
        throw new TemplateError(
          `IAM simulation of ${request.action} on ${request.resource} for role ${caller.role.logicalId} failed: ${JSON.stringify(response.errors)}`,
        );
      }
      result = response.overallResult;
    }
    this.#cache.set(key, result as 'Allowed');
    return result;
  }
}
