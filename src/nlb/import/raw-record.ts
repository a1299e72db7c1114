/**
 * Types only: one object as a PowerShell output printed it (a table row, a Format-List block, a
 * ConvertTo-Json object), before classify.ts decides which cmdlet it came from. Text forms give
 * strings ('' for an empty cell); JSON gives JSON values.
 */
import type { SourceRef } from './model.ts';

export type OutputForm = 'table' | 'list' | 'json';

export interface RawField {
  /** The column header or property name as printed. */
  name: string;
  value: unknown;
}

export interface RawRecord {
  form: OutputForm;
  fields: RawField[];
  source: SourceRef;
}
