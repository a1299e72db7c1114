/**
 * Did-you-mean suggestions for misspelt keys and values (schedular -> scheduler,
 * roundrobin -> round-robin, leastconn -> least-connections, wrr -> weighted-round-robin,
 * servers -> realServers).
 */

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions (teh -> the = 1). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

/** Case, spaces, dashes and underscores do not matter: "Round Robin" and "round_robin" read alike. */
function normalize(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** "weighted-round-robin" -> "wrr", the short names ipvsadm users know. */
function initials(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+|(?=[A-Z])/)
    .filter((word) => word.length > 0)
    .map((word) => word[0]?.toLowerCase())
    .join('');
}

/**
 * The candidate the user most likely meant, or undefined when none is close. Close means at
 * most one edit per three characters (so "lsiten" finds "listen" but "port" does not find "host").
 */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const wanted = normalize(input);
  if (wanted.length === 0) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === input) return undefined;
    const distance = editDistance(wanted, normalize(candidate));
    const limit = Math.max(1, Math.floor(normalize(candidate).length / 3));
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined) return best;
  // Then abbreviations and fragments, only when they point at a single candidate.
  return uniqueMatch(candidates, (c) => wanted.length >= 3 && normalize(c).startsWith(wanted))
    ?? uniqueMatch(candidates, (c) => wanted.length >= 4 && normalize(c).includes(wanted))
    ?? uniqueMatch(candidates, (c) => wanted.length >= 2 && initials(c) === wanted);
}

function uniqueMatch(candidates: readonly string[], matches: (candidate: string) => boolean): string | undefined {
  const found = candidates.filter(matches);
  return found.length === 1 ? found[0] : undefined;
}
