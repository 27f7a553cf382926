/**
 * A rejected input. The message always names where the problem is, so a user can open the
 * file and go to it: `file:line:column: reason` (line 1-based, header = line 1).
 */
export class DataValidationError extends Error {
  override readonly name = 'DataValidationError';
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly line?: number,
    readonly column?: number | string,
  ) {
    super(
      [file, line !== undefined ? `line ${line}` : undefined, column !== undefined ? `column ${column}` : undefined]
        .filter((part) => part !== undefined)
        .join(', ') + `: ${reason}`,
    );
  }
}

/** A rejected configuration, CLI flag or event field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
