/**
 * `npm run bench`: every benchmark, each printing a table with its baseline measured in the same run
 * (ratios, not absolute times: these machines are shared and noisy). `npm run bench -- registry`
 * runs one.
 */
import { registryBench } from './registry.bench.ts';
import { pnsBench } from './pns.bench.ts';
import { dispatchBench } from './dispatch.bench.ts';

const benches: Record<string, () => Promise<void>> = { registry: registryBench, pns: pnsBench, dispatch: dispatchBench };
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('--'));
for (const [name, run] of Object.entries(benches)) {
  if (chosen.length > 0 && !chosen.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  await run();
}
