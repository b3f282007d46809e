/**
 * How far V8 lets the heap grow past what is live before it collects. By default it may grow to several times the
 * live size: a 2,000,000-row append with ~70 MB live reached ~360 MB of resident memory, nearly all of it garbage
 * not yet collected (bodies of a few MB each go straight to the old generation). Capping the growth at 30 % over
 * the live size keeps it near 200 MB for a few percent of throughput. It is a growth factor, not a limit: a
 * workload that needs more memory still gets it. (`--heap-growing-percent` is read at every collection, so it
 * applies when set at run time.)
 */
import { setFlagsFromString } from "node:v8"

/** Lets the heap grow at most `percent` % over its live size between collections. */
export const limitHeapGrowth = (percent = 30): void => setFlagsFromString(`--heap-growing-percent=${percent}`)
