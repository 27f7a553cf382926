/**
 * The training workflow's names, CDK-free: its states and the errors its Retry and Catch rules
 * match. Infra (infra/workflow-definition.ts) builds the state machine from them; the local
 * runtime, the CLI and tests name states and errors through them without loading aws-cdk-lib.
 * The flow itself is drawn in infra/workflow-definition.ts.
 */
export const STATE_NAMES = {
  validate: 'ValidateInput',
  ingest: 'Ingest',
  /** Step caching (lib/workflow/step-cache.ts): a Choice on Ingest's reusedRun, and the Pass that reports it. */
  completedRunFound: 'CompletedRunFound',
  reuseCompletedRun: 'ReuseCompletedRun',
  prepareTrainEvent: 'PrepareTrainEvent',
  startTrainLoops: 'StartTrainLoops',
  chooseRuntime: 'ChooseTrainingRuntime',
  trainOnLambda: 'TrainOnLambda',
  trainingStatus: 'TrainingStatus',
  continueTraining: 'ContinueTraining',
  tooManyTrainLoops: 'TooManyTrainLoops',
  writeTrainEvent: 'WriteTrainEvent',
  trainOnFargate: 'TrainOnFargate',
  fallBackToFargate: 'FallBackToFargate',
  evaluate: 'Evaluate',
  approvalRequired: 'ApprovalRequired',
  awaitApproval: 'AwaitApproval',
  approvalExpired: 'ApprovalExpired',
  approvalNotRequired: 'ApprovalNotRequired',
  promote: 'Promote',
  done: 'Done',
  failed: 'Failed',
} as const;

/** The steps of the training path a sweep trial shares with a single run (named `Trial<name>` inside the Map). */
export type TrainingPathState = Exclude<keyof typeof STATE_NAMES, 'validate' | 'ingest' | 'approvalRequired' | 'awaitApproval' | 'approvalExpired' | 'approvalNotRequired' | 'promote' | 'done' | 'failed'>;
/** A training-path state's name inside a sweep's Map: state names are unique across a whole definition. */
export const trialStateName = (state: TrainingPathState | 'evaluate') => `Trial${STATE_NAMES[state]}`;

/**
 * A sweep (lib/workflow/sweep): after Ingest, IsSweep sends it to StartSweep, which files the
 * sweep record and plans round 0; TrainTrials (an inline Map) trains each trial of the round
 * (evaluating and registering them in the last round); EndSweepRound records the round and
 * keeps the best trials for the next, or picks the best trial, which UseBestTrial hands to the
 * usual approval and promotion.
 */
export const SWEEP_STATE_NAMES = {
  isSweep: 'IsSweep',
  startSweep: 'StartSweep',
  trainTrials: 'TrainTrials',
  endRound: 'EndSweepRound',
  roundsDone: 'SweepRoundsDone',
  nextRound: 'NextSweepRound',
  useBestTrial: 'UseBestTrial',
  registerTrial: 'RegisterTrial',
  trialTrained: 'TrialTrained',
  trialEvaluated: 'TrialEvaluated',
  trialFailed: 'TrialFailed',
  trialTooManyTrainLoops: 'TrialTooManyTrainLoops',
} as const;

/** The sweep function's error when no trial of a sweep trained (each trial's error is in the cause). */
export const SWEEP_FAILED_ERROR = 'SweepFailed';

/** Errors worth retrying: the Lambda service's own transient failures, never the handler's errors. */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];
/** The train Lambda is at its reserved concurrency: wait for a slot (TrainOnLambda only). */
export const LAMBDA_THROTTLED_ERRORS = ['Lambda.TooManyRequestsException'];
/** A Lambda that ran out of time (function timeout), or the state's own timeout. */
export const LAMBDA_TIMEOUT_ERRORS = ['Sandbox.Timedout', 'States.Timeout'];
/**
 * RunTask refused (throttling, a service error: ECS.AmazonECSException) or answered with a
 * non-empty `Failures` list and no task, which Step Functions reports as AmazonECS.Unknown: on
 * Fargate that is nearly always capacity (RESOURCE:FARGATE), which frees up in minutes.
 */
export const ECS_TRANSIENT_ERRORS = ['ECS.AmazonECSException', 'AmazonECS.Unknown'];
/**
 * S3 PutObject throttled (503 SlowDown) or failing on S3's side (500 InternalError, 503
 * ServiceUnavailable). AWS SDK integrations name errors `<Service>.<ErrorCode>Exception`, the
 * suffix added even where S3's own code has none.
 */
export const S3_TRANSIENT_ERRORS = ['S3.SlowDownException', 'S3.InternalErrorException', 'S3.ServiceUnavailableException'];

/** The error of an execution whose Lambda training answered "continue" maxTrainLoops times. */
export const TRAIN_LOOP_LIMIT_ERROR = 'TrainLoopLimitExceeded';
