import { rmSync } from 'node:fs';
import { FakeClock, Stores, poll } from './helpers.js';
const stores = new Stores();
for (const [label, series, cycles] of [['150 series', 150, 3000], ['150 series', 150, 12000]] as const) {
  rmSync('/tmp/probe-dir', { recursive: true, force: true });
  const clock = new FakeClock();
  const s = stores.openStore('/tmp/probe-dir', { clock, walAutocheckpointPages: 0, checkpointEveryCommits: 1, checkpointEveryMs: 1e12 });
  const points = Array.from({ length: series }, (_, i) => i * 1.5);
  let frames = 0; let n = 0;
  for (let i = 0; i < cycles; i++) {
    clock.advance(5000);
    s.commitCycle({ polls: [poll(clock, 'lamps', points)] });
    if (i >= cycles - 200) { frames += s.stats().lastCheckpoint?.walFrames ?? 0; n++; }
  }
  console.log(label, 'after', cycles, 'cycles: frames/commit', (frames / n).toFixed(1));
  s.readTransaction((db) => {
    const rows = db.prepare("SELECT name, COUNT(*) AS pages FROM dbstat GROUP BY name ORDER BY pages DESC").all();
    console.log(rows);
  });
  stores.closeAll();
}
