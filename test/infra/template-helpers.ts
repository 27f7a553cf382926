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

/** The role of a Lambda function (logical id) or an ECS task definition's task role. */
export function roleOf(template: Template, logicalId: string): string {
  const resource = template.toJSON().Resources[logicalId] as Json;
  const role = resource.Properties.Role ?? resource.Properties.TaskRoleArn;
  return role['Fn::GetAtt'][0];
}

/** The single resource of a type whose logical id starts with a prefix (construct path based). */
export function logicalIdStartingWith(template: Template, type: string, prefix: string): string {
  const ids = resourcesOfType(template, type)
    .map(([id]) => id)
    .filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}
