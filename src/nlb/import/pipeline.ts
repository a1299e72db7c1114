/**
 * `fulcrum nlb import` without its command line: file contents in, config text (or problems) out.
 * Each file is decoded (UTF-16 or UTF-8, CRLF), split into the objects PowerShell printed,
 * classified by cmdlet, mapped, rendered, and the text is loaded back with the config loader, so
 * that the import never prints a config `fulcrum check` would refuse.
 */
import { classifyRecords, where } from './classify.ts';
import { decodeText } from './decode.ts';
import { planImport, type ImportOptions } from './mapping.ts';
import type { ConfigDraft } from './plan.ts';
import { readPowerShellOutput } from './powershell-output.ts';
import { NlbImportCode, problem, type ImportProblem } from './problems.ts';
import type { RawRecord } from './raw-record.ts';
import { renderPlan } from './render.ts';

export const SUPPORTED_FORMS =
  'the output of Get-NlbCluster, Get-NlbClusterVip, Get-NlbClusterNode, Get-NlbClusterNodeDip and Get-NlbClusterPortRule, as PowerShell prints it by default (a table), with Format-List -Property *, or with ConvertTo-Json';

export interface InputFile {
  /** The name to show in messages and in the header. */
  name: string;
  bytes: Uint8Array;
}

export type ImportOutcome =
  | { ok: true; text: string; config: ConfigDraft; warnings: string[] }
  | { ok: false; problems: ImportProblem[]; warnings: string[] };

export async function importNlb(files: readonly InputFile[], options: Omit<ImportOptions, 'files'>): Promise<ImportOutcome> {
  const problems: ImportProblem[] = [];
  const warnings: string[] = [];
  const records: RawRecord[] = [];
  for (const file of files) {
    const output = readPowerShellOutput(decodeText(file.bytes), file.name);
    problems.push(...output.problems);
    if (output.records.length === 0 && output.problems.length === 0) {
      problems.push(problem(NlbImportCode.FORMAT, `${file.name} is none of the supported forms: ${SUPPORTED_FORMS}`));
    } else if (output.ignored.length > 0) {
      const [first] = output.ignored;
      warnings.push(`${file.name}: skipped ${plural(output.ignored.length, 'line')} that no supported form explains (the first, line ${first?.line}: ${JSON.stringify(first?.text.slice(0, 60))})`);
    }
    records.push(...output.records);
  }
  const classified = classifyRecords(records);
  problems.push(...classified.problems);
  warnings.push(...classified.warnings);
  for (const file of files) {
    const mine = records.filter((record) => record.source.file === file.name);
    const unknown = classified.unrecognized.filter((record) => record.source.file === file.name);
    if (unknown.length === 0) continue;
    if (unknown.length === mine.length) {
      const names = unknown[0]?.fields.map((field) => field.name).join(', ') ?? '';
      problems.push(problem(NlbImportCode.FORMAT, `${file.name}: its objects (properties ${names}) come from none of the NLB cmdlets this import reads; it reads ${SUPPORTED_FORMS}`));
    } else {
      warnings.push(`${file.name}: skipped ${plural(unknown.length, 'object')} from no NLB cmdlet this import reads (${unknown.map((record) => where(record.source)).join(', ')})`);
    }
  }
  if (problems.length > 0) return { ok: false, problems, warnings };

  const planned = planImport(classified.export, { ...options, files: files.map((file) => file.name) }, warnings);
  if (!planned.ok) return planned;
  const text = renderPlan(planned.plan);
  const config: ConfigDraft = { virtualServices: planned.plan.services.map((service) => service.service) };

  // The loader (zod, the validators) is needed only here; `fulcrum nlb ip2mac` never loads it.
  const { loadConfigText } = await import('../../config/load.ts');
  const loaded = loadConfigText(text, 'nlb-import.yaml');
  if (!loaded.ok) {
    const { formatProblems } = await import('../../config/format.ts');
    return {
      ok: false,
      problems: [problem(NlbImportCode.INVALID_OUTPUT, `the generated config does not pass fulcrum check (a bug in the import; please report it with the input):\n${formatProblems(loaded.problems)}`)],
      warnings: planned.plan.warnings,
    };
  }
  return { ok: true, text, config, warnings: planned.plan.warnings };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
