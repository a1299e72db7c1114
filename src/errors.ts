/**
 * Stable error codes (FULCRUM_ERR_*) that tests, logs and users can match on.
 */
export const ErrorCode = {
  CONFIG_INVALID: 'FULCRUM_ERR_CONFIG_INVALID',
  CONFIG_READ: 'FULCRUM_ERR_CONFIG_READ',
  CONFIG_YAML: 'FULCRUM_ERR_CONFIG_YAML',
  CONFIG_UNKNOWN_KEY: 'FULCRUM_ERR_CONFIG_UNKNOWN_KEY',
  CONFIG_MISSING_KEY: 'FULCRUM_ERR_CONFIG_MISSING_KEY',
  CONFIG_CONFLICT: 'FULCRUM_ERR_CONFIG_CONFLICT',
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
