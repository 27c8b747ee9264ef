/**
 * `npm run bench`: every benchmark, each printing a table with its baseline measured in the same run
 * (ratios, not absolute times: these machines are shared and noisy). `npm run bench -- registry`
 * (or `cli`: how fast `herald` commands start)
 * runs one. The long runs (`soak`: 20 minutes, `--minutes=N` for a shorter one; `fuzz`: a bounded fuzz
 * run watching memory; `scaleout`: PostgreSQL against SQLite, with its own PostgreSQL server) run only when named.
 */
import { registryBench } from './registry.bench.ts';
import { pnsBench } from './pns.bench.ts';
import { dispatchBench } from './dispatch.bench.ts';
import { fuzzBench } from './fuzz.bench.ts';
import { soakBench } from './soak.bench.ts';
import { scaleoutBench } from './scaleout.bench.ts';
import { portalBench } from './portal.bench.ts';
import { cliBench } from './cli.bench.ts';
import { eventsBench } from './events.bench.ts';

const benches: Record<string, () => Promise<void>> = { registry: registryBench, pns: pnsBench, dispatch: dispatchBench, events: eventsBench, portal: portalBench, cli: cliBench };
const onDemand: Record<string, () => Promise<void>> = { soak: soakBench, fuzz: fuzzBench, scaleout: scaleoutBench };
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('--'));
for (const [name, run] of Object.entries({ ...benches, ...onDemand })) {
  if (chosen.length > 0 ? !chosen.includes(name) : name in onDemand) continue;
  console.log(`\n=== ${name} ===`);
  await run();
}
