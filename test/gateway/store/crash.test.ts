import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { GapEvent } from '../../../cloud-sync/contract/events.js';
import { openGatewayStore } from '../../../gateway/store/event-store.js';
import { tempDirs } from './helpers.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..', '..');
const dirs = tempDirs('kerbside-crash-');
after(dirs.cleanup);

interface Run {
  /** First seq the run committed, and the last one it reported before it died. */
  firstSeq: number;
  lastReported: number;
  commits: number;
}

/** Starts the writer, lets it commit at least `minCommits` cycles plus a random while, then SIGKILLs it. */
async function runAndKill(dataDir: string, minCommits: number): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'crash-writer.ts'), dataDir], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let buffered = '';
  const run: Run = { firstSeq: 0, lastReported: 0, commits: 0 };
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [first = 0, last = 0] = line.split(' ').map(Number);
      if (run.commits === 0) run.firstSeq = first;
      run.lastReported = last;
      run.commits++;
    }
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  try {
    for (let i = 0; i < 600 && run.commits < minCommits; i++) {
      if (child.exitCode !== null) assert.fail(`writer exited early (${child.exitCode}): ${stderr}`);
      await sleep(25);
    }
    assert.ok(run.commits >= minCommits, `writer committed only ${run.commits} cycles: ${stderr}`);
    await sleep(Math.random() * 150);
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(await exited, 'SIGKILL');
  return run;
}

interface Verified {
  lastSeq: number;
  gaps: number;
}

/** Reopens the killed database and checks everything a crash must not break. */
function verify(dataDir: string, run: Run, previousLastSeq: number): Verified {
  const store = openGatewayStore(dataDir, { logger: pino({ level: 'silent' }) });
  try {
    assert.equal(store.quarantine, null, 'a killed process never leaves a damaged database');
    return store.readTransaction((db) => {
      assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);

      const lastSeq =
        db.prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").pluck().get() ?? 0;
      const lanes = db.prepare('SELECT lane, last_seq, acked_seq FROM outbox_lanes').all() as Array<{
        lane: string;
        last_seq: number;
        acked_seq: number;
      }>;
      assert.equal(lanes.length, 2);
      assert.ok(
        lastSeq >= run.lastReported,
        `every reported commit survived (${lastSeq} >= ${run.lastReported})`,
      );
      assert.ok(
        run.firstSeq > previousLastSeq,
        `seqs continue after a crash: ${run.firstSeq} > ${previousLastSeq}`,
      );

      // Per lane, seqs are contiguous above the acknowledged mark up to the last assigned; the
      // priority lane never has a hole, and every telemetry-lane hole (eviction) is accounted for
      // by exactly one gap event (which rides the priority lane).
      const rows = db.prepare('SELECT lane, lane_seq, kind, body FROM outbox').all() as Array<{
        lane: string;
        lane_seq: number;
        kind: string;
        body: string;
      }>;
      const gaps = rows.filter((r) => r.kind === 'gap').map((r) => JSON.parse(r.body) as GapEvent);
      for (const { lane, last_seq: laneLast, acked_seq: acked } of lanes) {
        const present = new Set(rows.filter((r) => r.lane === lane).map((r) => r.lane_seq));
        for (let seq = acked + 1; seq <= laneLast; seq++) {
          if (present.has(seq)) continue;
          assert.equal(lane, 'telemetry', `priority lane seq ${seq} is missing`);
          const covering = gaps.filter((g) => g.fromSeq <= seq && seq <= g.toSeq);
          assert.equal(covering.length, 1, `missing telemetry seq ${seq} is covered by exactly one gap`);
        }
        if (lane === 'telemetry') {
          for (const gap of gaps.filter((g) => g.fromSeq > acked)) {
            let missing = 0;
            for (let seq = gap.fromSeq; seq <= gap.toSeq; seq++) if (!present.has(seq)) missing++;
            assert.equal(missing, gap.count, `gap ${gap.fromSeq}..${gap.toSeq} counts what is missing`);
          }
        }
        assert.ok(
          [...present].every((seq) => seq > acked && seq <= laneLast),
          `${lane} lane: nothing at or below the acknowledged mark is left, nothing above the last`,
        );
      }

      // Every alarm transition is one history row plus one outbox event, never one without the
      // other. Acknowledgement deletes a prefix of the priority lane (whose order is commit
      // order), so a history row may lack its event only below the oldest priority row left.
      const orphans = db
        .prepare(
          `SELECT COUNT(*) FROM alarm_history h LEFT JOIN outbox o ON o.seq = h.outbox_seq
           WHERE h.outbox_seq > (SELECT COALESCE(MIN(seq), 1e18) FROM outbox WHERE lane = 'priority')
             AND (o.seq IS NULL OR o.kind != 'alarm_transition' OR o.id != h.event_id)`,
        )
        .pluck()
        .get();
      assert.equal(orphans, 0, 'every history row above the mark has its outbox event');
      const unrecorded = db
        .prepare(
          `SELECT COUNT(*) FROM outbox o LEFT JOIN alarm_history h ON h.outbox_seq = o.seq
           WHERE o.kind = 'alarm_transition' AND h.id IS NULL`,
        )
        .pluck()
        .get();
      assert.equal(unrecorded, 0, 'every transition event has its history row');
      assert.equal(
        db.prepare('SELECT COUNT(*) - COUNT(DISTINCT outbox_seq) FROM alarm_history').pluck().get(),
        0,
        'and exactly one',
      );
      // The alarm record and the last transition of each alarm were committed together.
      const mismatched = db
        .prepare(
          `SELECT COUNT(*) FROM alarms a
           WHERE a.state != (SELECT to_state FROM alarm_history h WHERE h.alarm_key = a.alarm_key ORDER BY h.id DESC LIMIT 1)`,
        )
        .pluck()
        .get();
      assert.equal(mismatched, 0, 'each alarm record matches its last transition');
      // The per-class counts kept by triggers match the rows.
      const counts = db
        .prepare(
          `SELECT c.class, c.rows, (SELECT COUNT(*) FROM outbox o WHERE o.class = c.class) AS actual
           FROM outbox_counts c WHERE c.rows != actual`,
        )
        .all();
      assert.deepEqual(counts, []);
      return { lastSeq, gaps: gaps.length };
    });
  } finally {
    store.close();
  }
}

describe('kill -9', () => {
  it('survives SIGKILL at random moments: integrity ok, seqs contiguous, history and outbox in step', async () => {
    const dataDir = dirs.fresh();
    let lastSeq = 0;
    let commits = 0;
    let gaps = 0;
    for (let round = 0; round < 5; round++) {
      const run = await runAndKill(dataDir, 30);
      commits += run.commits;
      const verified = verify(dataDir, run, lastSeq);
      lastSeq = verified.lastSeq;
      gaps += verified.gaps;
    }
    assert.ok(commits >= 150, `${commits} commits`);
    assert.ok(gaps > 0, 'telemetry evictions happened under the knife too');
  });
});
