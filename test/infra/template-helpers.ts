import type { Template } from 'aws-cdk-lib/assertions';

/** Small readers over a synthesized template, shared by the infra tests. */
export type Json = Record<string, any>;

export function resourcesOfType(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type));
}

/** Renders an IAM resource / intrinsic as text: {Fn::GetAtt:[X,'Arn']} -> <X.Arn>, {Ref:X} -> <X>. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if (v['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map(render).join(v['Fn::Join'][0]);
  if (v['Fn::GetAtt']) return `<${v['Fn::GetAtt'][0]}.${v['Fn::GetAtt'][1]}>`;
  if (v.Ref) return `<${v.Ref}>`;
  if (typeof v['Fn::Sub'] === 'string') return v['Fn::Sub'];
  return JSON.stringify(v);
}

/** `render` applied to every intrinsic inside a value (condition blocks, parameters). */
export function renderDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renderDeep);
  if (value !== null && typeof value === 'object') {
    const v = value as Json;
    if (v['Fn::Join'] || v['Fn::GetAtt'] || v.Ref || typeof v['Fn::Sub'] === 'string') return render(v);
    return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, renderDeep(inner)]));
  }
  return value;
}

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export interface Grant {
  action: string;
  resource: string;
  condition?: Json;
}

/** Every (action, resource) an IAM role gets through inline AWS::IAM::Policy resources. */
export function grantsOfRole(template: Template, roleLogicalId: string): Grant[] {
  const grants: Grant[] = [];
  for (const [, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
    const roles = asArray(policy.Properties.Roles).map((role: Json) => role.Ref);
    if (!roles.includes(roleLogicalId)) continue;
    for (const statement of asArray<Json>(policy.Properties.PolicyDocument.Statement)) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of asArray<string>(statement.Action)) {
        for (const resource of asArray(statement.Resource)) {
          grants.push({ action, resource: render(resource), condition: statement.Condition });
        }
      }
    }
  }
  return grants;
}

/**
 * Everything a role is allowed, one line per (action, resource[, condition]), sorted: the exact
 * content of its inline policies whatever CDK's statement merging made of them. Fails if the role
 * has managed policies or inline `Policies` of its own (they would escape this list).
 */
export function allowedOf(template: Template, roleLogicalId: string): string[] {
  const role = template.toJSON().Resources[roleLogicalId] as Json;
  if (role.Properties.ManagedPolicyArns !== undefined || role.Properties.Policies !== undefined) {
    throw new Error(`${roleLogicalId} has managed or inline policies: ${JSON.stringify(role.Properties)}`);
  }
  return grantsOfRole(template, roleLogicalId)
    .map((g) => `${g.action} ${g.resource}${g.condition ? ' ' + JSON.stringify(renderDeep(g.condition)) : ''}`)
    .sort();
}

/** The role of a Lambda function or a state machine (logical id), or an ECS task definition's task role. */
export function roleOf(template: Template, logicalId: string): string {
  const resource = template.toJSON().Resources[logicalId] as Json;
  const role = resource.Properties.Role ?? resource.Properties.TaskRoleArn ?? resource.Properties.RoleArn;
  return role['Fn::GetAtt'][0];
}

/** An ECS task definition's execution role. */
export function executionRoleOf(template: Template, taskDefinitionLogicalId: string): string {
  const resource = template.toJSON().Resources[taskDefinitionLogicalId] as Json;
  return resource.Properties.ExecutionRoleArn['Fn::GetAtt'][0];
}

/** The single resource of a type whose logical id starts with a prefix (construct path based). */
export function logicalIdStartingWith(template: Template, type: string, prefix: string): string {
  const ids = resourcesOfType(template, type)
    .map(([id]) => id)
    .filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}
