import { ConfigError } from '../errors.ts';

/**
 * A problem with one field of a config, before we know which file or event it came from.
 * Callers that know the source turn it into a ConfigError, so the message can say both where
 * the config came from and which field to fix.
 */
export class FieldError extends Error {
  override readonly name = 'FieldError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(path ? `${path}: ${reason}` : reason);
  }
}

export function fieldErrorToConfigError(error: FieldError, source: string): ConfigError {
  return new ConfigError(error.path ? `${source}: ${error.path}: ${error.reason}` : `${source}: ${error.reason}`);
}
