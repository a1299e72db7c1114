/**
 * Run counts and seed of the fuzz tests: fixed for CI, overridable to fuzz longer locally.
 *   FUZZ_RUNS=30000 FUZZ_SEED=$RANDOM npm test -- test/fuzz
 * RUNS is the base count: each property states its multiple of it.
 */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
export const SEED = Number(process.env.FUZZ_SEED ?? 20_240_917);
