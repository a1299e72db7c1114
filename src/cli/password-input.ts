/**
 * Reading a password in the CLI: the first line of standard input when it is not a terminal (a
 * pipe from a secrets manager), or typed at the terminal without echo. Never an argument: `ps`
 * and the shell's history would keep it.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/** Far above any password; a larger input is not one. */
const MAX_STDIN_PASSWORD_BYTES = 8192;

/** A password for logging in: stdin's first line, or typed once at a terminal. */
export async function readLoginPassword(user: string): Promise<string> {
  if (process.stdin.isTTY !== true) {
    const line = await readFirstLine(process.stdin);
    if (line === null) throw new Error(`no password on standard input: pipe it in (printf '%s\\n' "$PASSWORD" | fulcrum ...) or run at a terminal to type it`);
    return line;
  }
  return promptHidden(`Password for ${user}: `);
}

/** The first line of `input`, without its line ending; null when it is empty. */
export async function readFirstLine(input: NodeJS.ReadableStream): Promise<string | null> {
  input.setEncoding('utf8');
  let text = '';
  for await (const chunk of input) {
    text += chunk as string;
    if (text.includes('\n') || text.length > MAX_STDIN_PASSWORD_BYTES) break;
  }
  const newline = text.indexOf('\n');
  const line = (newline === -1 ? text : text.slice(0, newline)).replace(/\r$/, '');
  return newline === -1 && line === '' ? null : line;
}

/** Ask on the terminal with echo off: readline edits the line in raw mode and writes its echo nowhere. */
export function promptHidden(prompt: string): Promise<string> {
  const nowhere = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: nowhere, terminal: true });
  // Only now, with echo off (raw mode), the prompt: a password typed ahead of it must not be echoed.
  process.stderr.write(prompt);
  return new Promise<string>((resolve, reject) => {
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      resolve(line);
      rl.close();
    });
    rl.once('SIGINT', () => rl.close());
    rl.once('close', () => {
      process.stderr.write('\n');
      if (!answered) reject(new Error('cancelled; nothing was changed'));
    });
  });
}
