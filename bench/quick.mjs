/**
 * Quick mode of every benchmark: `--quick` on its command line or BENCH_QUICK=1 in its environment (the
 * docs test sets it, so each command the docs show runs as written). Short runs, a few seconds to
 * about 15 s, and no result files written: for checking that a benchmark works, not for figures.
 */
export const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1'

/** A count or duration from the command line (or its default); quick mode caps it at `quick`. */
export const quickCap = (given, quick) => {
  const n = given === undefined ? undefined : Number(given)
  return QUICK ? Math.min(n ?? quick, quick) : n
}
