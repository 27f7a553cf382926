import type { Command } from 'commander';
import { answerApproval, type AnsweredApproval, type Decision, MAX_REASON_LENGTH } from './approval.ts';
import { type RegistryDeps, type RegistryFlags, withRegistry, withRegistryOptions } from './target.ts';

/**
 * `fmnist models approve <runId>` and `fmnist models reject <runId>` (./approval.ts), added to the
 * caller's `models` command group. Without --json the answer is printed on stdout; with --json
 * stdout gets one document ({ runId, decision, by, at, reason }) and the message goes to stderr.
 */
interface ApprovalFlags extends RegistryFlags {
  reason?: string;
}

const COMMANDS: { name: string; decision: Decision; description: string }[] = [
  {
    name: 'approve',
    decision: 'approved',
    description: 'answer a run waiting for approval (`run`/`start --approval manual`): Promote makes it the champion of its test split',
  },
  {
    name: 'reject',
    decision: 'rejected',
    description: 'answer a run waiting for approval: Promote registers it without promoting it (the execution still succeeds)',
  },
];

export function addApprovalCommands(models: Command, deps: RegistryDeps = {}): void {
  for (const { name, decision, description } of COMMANDS) {
    withRegistryOptions(
      models
        .command(name)
        .argument('<runId>', 'the waiting run (its request is models/approvals/<runId>.json)')
        .description(description)
        .option('--reason <text>', `why, recorded with the decision in the run's registry record (at most ${MAX_REASON_LENGTH} characters)`),
    ).action(async (runId: string, flags: ApprovalFlags) => {
      const answered = await withRegistry(flags, deps, (target) => answerApproval(target, runId, decision, { reason: flags.reason, now: deps.now?.() }));
      report(answered, flags, deps);
    });
  }
}

function report({ request, approval }: AnsweredApproval, flags: ApprovalFlags, deps: RegistryDeps): void {
  const stdout = deps.out ?? process.stdout;
  const messages = flags.json ? (deps.log ?? process.stderr) : stdout;
  const figures = `test accuracy ${(request.accuracy * 100).toFixed(2)} %, macro F1 ${request.macroF1.toFixed(4)}`;
  const why = approval.reason ? ` (reason: ${approval.reason})` : '';
  const next =
    approval.decision === 'approved'
      ? `it goes on to Promote, which makes it the champion of test split ${request.testSetId}`
      : 'it goes on to Promote, which registers it without promoting it';
  messages.write(`run ${request.runId} (${figures}): ${approval.decision} by ${approval.by} at ${approval.at}${why}\n`);
  messages.write(`sent to execution ${request.executionName ?? '(unnamed)'}: ${next}\n`);
  if (flags.json) {
    const { decision, by, at, reason } = approval;
    stdout.write(JSON.stringify({ runId: request.runId, decision, by, at, reason }) + '\n');
  }
}
