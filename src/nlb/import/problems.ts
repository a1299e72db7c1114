/**
 * What can stop `fulcrum nlb import`, with stable codes a script (and the tests) can match on.
 * Every message says what to do: which output to add, which flag supplies a value, which edit helps.
 */

export const NlbImportCode = {
  /** A file cannot be read. */
  READ: 'FULCRUM_ERR_NLB_IMPORT_READ',
  /** A file (or part of one) is none of the supported forms, or malformed JSON. */
  FORMAT: 'FULCRUM_ERR_NLB_IMPORT_FORMAT',
  /** A value the mapping needs is missing or cannot be interpreted (a numeric enum, a cut-off address). */
  VALUE: 'FULCRUM_ERR_NLB_IMPORT_VALUE',
  /** A node whose dedicated address is unknown, or an --address that names no node. */
  NODE_ADDRESS: 'FULCRUM_ERR_NLB_IMPORT_NODE_ADDRESS',
  /** A port range too wide to write as one virtual service per port. */
  PORT_RANGE: 'FULCRUM_ERR_NLB_IMPORT_PORT_RANGE',
  /** The files describe more than one cluster, or nothing that becomes a virtual service. */
  CLUSTER: 'FULCRUM_ERR_NLB_IMPORT_CLUSTER',
  /** The generated config does not pass `fulcrum check` (a bug in the import; the problems say where). */
  INVALID_OUTPUT: 'FULCRUM_ERR_NLB_IMPORT_INVALID_OUTPUT',
} as const;

export type NlbImportCode = (typeof NlbImportCode)[keyof typeof NlbImportCode];

export interface ImportProblem {
  code: NlbImportCode;
  message: string;
}

export function problem(code: NlbImportCode, message: string): ImportProblem {
  return { code, message };
}
