/**
 * The folder of the config file being validated, for the few defaults that live next to it (the
 * ACME storage folder). Every other relative path in a config is taken from the working
 * directory, as it always was; this is only where a default is put when the file names none.
 *
 * A module-level value rather than a schema parameter: zod transforms take no context, and
 * validation is synchronous, so `withConfigDirectory` sets it for exactly one validation.
 */
let current: string | null = null;

/** Run `validate` with `dir` as the config file's folder. */
export function withConfigDirectory<T>(dir: string, validate: () => T): T {
  const previous = current;
  current = dir;
  try {
    return validate();
  } finally {
    current = previous;
  }
}

/** The config file's folder; the working directory when the config came from no file (an API body, a test). */
export function configDirectory(): string {
  return current ?? process.cwd();
}
