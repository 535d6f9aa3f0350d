/**
 * `npm run bench -- <name>`: runs one benchmark. Each benchmark measures our path and its
 * reference in the same run (ARCHITECTURE.md, "Benchmarks") and ends with one `RESULT <name> ...`
 * line.
 */
const benchmarks: Record<string, () => Promise<{ main: (args: string[]) => Promise<void> }>> = {
  poll: () => import('./poll.js'),
  ingest: () => import('./ingest.js'),
  uplink: () => import('./uplink.js'),
  'alarm-to-case': () => import('./alarm-to-case.js'),
  outage: () => import('./outage.js'),
  pacing: () => import('./pacing.js'),
  'connect-flood': () => import('./connect-flood.js'),
  'cabinet-ui': () => import('./cabinet-ui.js'),
};

const [name, ...args] = process.argv.slice(2);
const load = name === undefined ? undefined : benchmarks[name];
if (!load) {
  console.error(
    `usage: npm run bench -- <name> [options]\nbenchmarks: ${Object.keys(benchmarks).join(', ')}`,
  );
  process.exit(2);
}
try {
  const bench = await load();
  await bench.main(args);
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
