// Types of router.js for the Node tests (test/console).
export function parseRoute(hash: string | undefined): { page: string; args: string[]; query: Record<string, string> };
export function href(...segments: (string | number)[]): string;
