/**
 * Errors raised by the scoring math. Each carries a stable `code` so callers
 * (jobs, the CLI) can react or report without parsing the message.
 */
export type ScoringErrorCode =
  | 'SCORING_EMPTY_INPUT'
  | 'SCORING_INVALID_OBSERVATION'
  | 'SCORING_INVALID_PARAMETERS'
  | 'SCORING_INVALID_ARGUMENT'
  | 'SCORING_INVALID_CONFIG';

export class ScoringError extends Error {
  readonly code: ScoringErrorCode;

  constructor(code: ScoringErrorCode, message: string) {
    super(message);
    this.name = 'ScoringError';
    this.code = code;
  }
}
