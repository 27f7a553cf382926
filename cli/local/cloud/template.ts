/**
 * The synthesized CloudFormation template, read the way CloudFormation would deploy it: each
 * resource gets a physical name, and the intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, Fn::Split) resolve to the names and ARNs the local cloud uses. Everything the
 * local runtime emulates (function settings, environments, IAM policies, the task definition,
 * EventBridge rules, the state machine definition) is read from here, so a local run sees
 * exactly what `cdk deploy` would create.
 *
 * Physical names: a resource's explicit name property if the template sets one, else its
 * logical id (CloudFormation would add the stack name and a random suffix; nothing here depends
 * on that), except buckets, whose names the caller binds (the local S3 server's bucket).
 */
export type Template = {
  Resources: Record<string, TemplateResource>;
  Parameters?: Record<string, { Default?: unknown }>;
  [key: string]: unknown;
};
export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface CloudBindings {
  region: string;
  account: string;
  partition: string;
  /** Bucket logical id -> bucket name (the local S3 server's buckets). */
  bucketNames: Record<string, string>;
}

export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_REGION = 'us-east-1';

/** An error in the template that the local cloud cannot read, naming where. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

const NAME_PROPERTY: Record<string, string> = {
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::ECS::Cluster': 'ClusterName',
  'AWS::ECS::TaskDefinition': 'Family',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::Events::Rule': 'Name',
};

export class TemplateResolver {
  constructor(
    readonly template: Template,
    readonly bindings: CloudBindings,
  ) {}

  resource(logicalId: string): TemplateResource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new TemplateError(`the template has no resource ${logicalId}`);
    return resource;
  }

  /** Logical ids of every resource of `type`, in template order. */
  ofType(type: string): string[] {
    return Object.entries(this.template.Resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([logicalId]) => logicalId);
  }

  physicalName(logicalId: string): string {
    const resource = this.resource(logicalId);
    const property = NAME_PROPERTY[resource.Type];
    const explicit = property ? resource.Properties?.[property] : undefined;
    if (explicit !== undefined) return String(this.resolve(explicit, `${logicalId}.${property}`));
    if (resource.Type === 'AWS::S3::Bucket') return this.bindings.bucketNames[logicalId] ?? logicalId.toLowerCase();
    return logicalId;
  }

  arn(logicalId: string): string {
    const { partition: p, region: r, account: a } = this.bindings;
    const resource = this.resource(logicalId);
    const name = this.physicalName(logicalId);
    switch (resource.Type) {
      case 'AWS::S3::Bucket':
        return `arn:${p}:s3:::${name}`;
      case 'AWS::Lambda::Function':
        return `arn:${p}:lambda:${r}:${a}:function:${name}`;
      case 'AWS::IAM::Role':
        return `arn:${p}:iam::${a}:role/${name}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:${p}:states:${r}:${a}:stateMachine:${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:${p}:logs:${r}:${a}:log-group:${name}:*`;
      case 'AWS::ECS::Cluster':
        return `arn:${p}:ecs:${r}:${a}:cluster/${name}`;
      case 'AWS::ECS::TaskDefinition':
        return `arn:${p}:ecs:${r}:${a}:task-definition/${name}:1`;
      case 'AWS::SQS::Queue':
        return `arn:${p}:sqs:${r}:${a}:${name}`;
      case 'AWS::SNS::Topic':
        return `arn:${p}:sns:${r}:${a}:${name}`;
      case 'AWS::KMS::Key':
        return `arn:${p}:kms:${r}:${a}:key/${name}`;
      case 'AWS::Events::Rule':
        return `arn:${p}:events:${r}:${a}:rule/${name}`;
      default: {
        const service = resource.Type.split('::')[1]?.toLowerCase() ?? 'unknown';
        return `arn:${p}:${service}:${r}:${a}:${name}`;
      }
    }
  }

  /** What `{ Ref: logicalId }` returns for the resource's type (CloudFormation's documented Ref values). */
  ref(logicalId: string): string {
    const pseudo = this.pseudo(logicalId);
    if (pseudo !== undefined) return pseudo;
    const parameter = this.template.Parameters?.[logicalId];
    if (parameter) return String(parameter.Default ?? '');
    const resource = this.resource(logicalId);
    switch (resource.Type) {
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::ECS::TaskDefinition':
      case 'AWS::SNS::Topic':
        return this.arn(logicalId);
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.bindings.region}.amazonaws.com/${this.bindings.account}/${this.physicalName(logicalId)}`;
      default:
        return this.physicalName(logicalId);
    }
  }

  getAtt(logicalId: string, attribute: string): string {
    const resource = this.resource(logicalId);
    if (attribute === 'Arn') return this.arn(logicalId);
    if (attribute === 'Name' || attribute === 'QueueName' || attribute === 'TopicName') return this.physicalName(logicalId);
    if (resource.Type === 'AWS::SQS::Queue' && attribute === 'QueueUrl') return this.ref(logicalId);
    if (resource.Type === 'AWS::S3::Bucket' && attribute === 'RegionalDomainName') {
      return `${this.physicalName(logicalId)}.s3.${this.bindings.region}.amazonaws.com`;
    }
    // Ids of network resources and the like: stable placeholders derived from the logical id.
    return `${logicalId}.${attribute}`;
  }

  /** Resolves every intrinsic function in `value`; `where` names the place in errors. */
  resolve(value: unknown, where = '(template)'): unknown {
    if (Array.isArray(value)) return value.map((item, index) => this.resolve(item, `${where}[${index}]`));
    if (value === null || typeof value !== 'object') return value;
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return this.#intrinsic(keys[0], object[keys[0]], where);
    return Object.fromEntries(keys.map((key) => [key, this.resolve(object[key], `${where}.${key}`)]));
  }

  resolveString(value: unknown, where: string): string {
    const resolved = this.resolve(value, where);
    if (typeof resolved !== 'string') throw new TemplateError(`${where}: expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  }

  #intrinsic(name: string, argument: unknown, where: string): unknown {
    switch (name) {
      case 'Ref':
        return this.ref(String(argument));
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
        return this.getAtt(String(logicalId), String(attribute));
      }
      case 'Fn::Join': {
        const [separator, parts] = argument as [string, unknown[]];
        return (this.resolve(parts, where) as unknown[]).map(String).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = argument as [unknown, unknown];
        const items = this.resolve(list, where) as unknown[];
        return items[Number(this.resolve(index, where))];
      }
      case 'Fn::Split': {
        const [separator, text] = argument as [string, unknown];
        return this.resolveString(text, where).split(separator);
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(argument) ? (argument as [string, Record<string, unknown>]) : [String(argument), {}];
        return text.replace(/\$\{([^}!]+)\}/g, (_match, reference: string) => {
          if (reference in variables) return String(this.resolve(variables[reference], where));
          const [logicalId, attribute] = reference.split('.');
          return attribute ? this.getAtt(logicalId, attribute) : this.ref(logicalId);
        });
      }
      case 'Fn::GetAZs':
        return [`${this.bindings.region}a`, `${this.bindings.region}b`];
      default:
        throw new TemplateError(`${where}: the local cloud does not resolve ${name}`);
    }
  }

  pseudo(name: string): string | undefined {
    switch (name) {
      case 'AWS::Partition':
        return this.bindings.partition;
      case 'AWS::Region':
        return this.bindings.region;
      case 'AWS::AccountId':
        return this.bindings.account;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return 'FashionMnist';
      case 'AWS::NoValue':
        return undefined;
      default:
        return undefined;
    }
  }
}
