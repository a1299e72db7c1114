/**
 * The plan as YAML text: the header as comments, then each virtual service with its notes above
 * it and above the keys they explain, real servers one per line with the node's name after them:
 *
 *   virtualServices:
 *     # NLB port rule All 80 Tcp (Multiple hosts, affinity None).
 *     - name: webfarm-10.0.0.100-tcp-80
 *       listen: 10.0.0.100:80
 *       ...
 *       realServers:
 *         - { address: 10.0.0.11:80 }  # web1
 *
 * Written by hand rather than by a YAML library so that the comments sit where they explain
 * something; the command loads the text back (loadConfigText) before printing it.
 */
import type { ImportPlan, ServicePlan } from './plan.ts';

export function renderPlan(plan: ImportPlan): string {
  const lines = plan.header.flatMap((line) => (line === '' ? ['#'] : comments(line, '')));
  lines.push('', 'virtualServices:');
  plan.services.forEach((service, i) => {
    if (i > 0) lines.push('');
    lines.push(...renderService(service));
  });
  return `${lines.join('\n')}\n`;
}

function renderService({ service, notes, keyNotes, serverNotes }: ServicePlan): string[] {
  const lines = notes.flatMap((note) => comments(note, '  '));
  let first = true;
  for (const [key, value] of Object.entries(service)) {
    const lead = first ? '  - ' : '    ';
    first = false;
    if (key === 'realServers') {
      // A note about a key left out (no health check) sits where that key would be.
      for (const [absent, notes] of Object.entries(keyNotes)) if (!(absent in service)) for (const note of notes ?? []) lines.push(...comments(note, '    '));
    }
    for (const note of keyNotes[key as keyof typeof keyNotes] ?? []) lines.push(...comments(note, '    '));
    if (key === 'realServers' && Array.isArray(value)) {
      lines.push(`${lead}realServers:`);
      value.forEach((server, i) => {
        const note = serverNotes[i];
        lines.push(`      - ${flow(server)}${note === undefined ? '' : `  ${comment(note)}`}`);
      });
    } else {
      lines.push(`${lead}${key}: ${typeof value === 'object' && value !== null ? flow(value) : scalar(value)}`);
    }
  }
  return lines;
}

/** Comment lines longer than this (indent included) wrap at a space. */
const WIDTH = 110;

/** A comment line; a line break in a value from the input must not end the comment. */
function comment(text: string): string {
  return text === '' ? '#' : `# ${text.replace(/[\r\n]+/g, ' ')}`;
}

/** A comment wrapped to WIDTH; continuation lines are indented two more than the text's own indent. */
function comments(text: string, indent: string): string[] {
  const flat = text.replace(/[\r\n]+/g, ' ');
  const own = /^ */.exec(flat)?.[0] ?? '';
  const room = WIDTH - indent.length - 2;
  const lines: string[] = [];
  let line = '';
  for (const word of flat.trimStart().split(' ')) {
    const lead = lines.length === 0 ? own : `${own}  `;
    if (line !== '' && lead.length + line.length + 1 + word.length > room) {
      lines.push(lead + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push((lines.length === 0 ? own : `${own}  `) + line);
  return lines.map((part) => `${indent}${comment(part)}`);
}

function flow(value: object): string {
  const entries = Object.entries(value).map(([key, item]) => `${key}: ${scalar(item)}`);
  return `{ ${entries.join(', ')} }`;
}

/**
 * Plain when the text cannot be read as anything but itself (names, host:port, "/"), else a
 * JSON string, which is a valid YAML double-quoted scalar. "1.1", "true", "null" and friends
 * would change type unquoted, so anything that looks like a number or a keyword is quoted.
 */
function scalar(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  const plain = /^[A-Za-z_/][A-Za-z0-9._/-]*$/.test(text) || /^[0-9]{1,3}(\.[0-9]{1,3}){3}:[0-9]{1,5}$/.test(text);
  const keyword = /^(true|false|null|yes|no|on|off|y|n|~)$/i.test(text);
  return plain && !keyword ? text : JSON.stringify(text);
}
