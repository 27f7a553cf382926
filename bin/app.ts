#!/usr/bin/env -S npx tsx
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { settingsFromContext } from '../infra/settings.ts';
import { FmnistStack } from '../infra/stack.ts';

/**
 * CDK app entry (cdk.json: "npx tsx bin/app.ts"). Settings come from context (cdk.json or -c);
 * account and region from the CLI's environment, so `cdk synth` works offline without credentials.
 */
const app = new App();
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'FashionMnist';
new FmnistStack(app, stackName, {
  description: 'Fashion-MNIST CNN training with tfjs on Lambda and Fargate, orchestrated by Step Functions',
  settings: settingsFromContext(app.node),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// cdk-nag v3: the AwsSolutions pack runs as a CDK policy-validation plugin; any finding that is
// not acknowledged where its construct is made (infra/nag.ts; each with its reason) fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
