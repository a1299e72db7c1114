/**
 * Stable error codes (FULCRUM_ERR_*) that tests, logs and users can match on.
 */
export const ErrorCode = {
  CONFIG_INVALID: 'FULCRUM_ERR_CONFIG_INVALID',
  CONFIG_READ: 'FULCRUM_ERR_CONFIG_READ',
  CONFIG_YAML: 'FULCRUM_ERR_CONFIG_YAML',
  LISTEN: 'FULCRUM_ERR_LISTEN',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class FulcrumError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'FulcrumError';
  }
}
