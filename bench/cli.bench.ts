/**
 * How long a `herald` command takes from spawn to exit (issue 12 item 1: goal at most 0.3 s for
 * `herald --help` and `herald hub list` against a running hub), beside `node -e ''` measured in the same
 * run as the floor, and beside the CLI run from its sources through tsx (how bin/herald.js ran before the
 * build step). The runs are interleaved so a noisy neighbour slows every row alike. Beside the wall
 * time, the CPU time (user + system, from /usr/bin/time where the machine has it): on a loaded machine the
 * wall time mostly measures the wait for a core, the CPU time what a quiet machine would take.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServerProcess } from './server-process.ts';
import { table } from './table.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 15);
const GOAL_S = 0.3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function cliBench(): Promise<void> {
  const build = spawnSync(process.execPath, ['scripts/build.js'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('the build failed');
  const data = mkdtempSync(join(tmpdir(), 'herald-bench-cli-'));
  const server = await startServerProcess(data);
  try {
    const env = { ...process.env, HERALD_URL: server.httpUrl, HERALD_ADMIN_KEY: server.adminKey };
    const bin = join(root, 'bin/herald.js');
    const tsxMain = join(root, 'src/cli/main.ts');
    const cases: Array<[string, string[]]> = [
      ["node -e ''", ['-e', '']],
      ['herald --help', [bin, '--help']],
      ['herald --version', [bin, '--version']],
      ['herald hub list', [bin, 'hub', 'list']],
      ['herald --help, through tsx (before)', ['--import', 'tsx', tsxMain, '--help']],
      ['herald hub list, through tsx (before)', ['--import', 'tsx', tsxMain, 'hub', 'list']],
    ];
    const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    const cpu = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    const timer = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
    for (let i = 0; i < RUNS; i++) {
      for (const [name, args] of cases) {
        const t0 = process.hrtime.bigint();
        const r = timer
          ? spawnSync(timer, ['-f', 'cpu %U %S', process.execPath, ...args], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
          : spawnSync(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr.toString().trim()}`);
        times.get(name)!.push(s);
        const used = /cpu (\S+) (\S+)\s*$/.exec(r.stderr.toString());
        if (used) cpu.get(name)!.push(Number(used[1]) + Number(used[2]));
      }
    }
    const floor = median(times.get("node -e ''")!);
    const cpuFloor = timer ? median(cpu.get("node -e ''")!) : NaN;
    console.log(`${RUNS} runs each, interleaved; the goal is a median of at most ${GOAL_S} s for the compiled commands.`);
    console.log(
      table(
        ['command', 'median s', 'min s', 'x node -e', 'CPU s (median)', 'CPU x node -e', 'goal'],
        cases.map(([name]) => {
          const xs = times.get(name)!;
          const m = median(xs);
          const c = timer ? median(cpu.get(name)!) : NaN;
          const compiled = name.startsWith('herald') && !name.includes('tsx');
          return [name, m.toFixed(3), Math.min(...xs).toFixed(3), (m / floor).toFixed(2), timer ? c.toFixed(2) : '-', timer ? (c / cpuFloor).toFixed(2) : '-', compiled ? (m <= GOAL_S ? 'met' : 'MISSED') : ''];
        }),
      ),
    );
  } finally {
    await server.stop();
    rmSync(data, { recursive: true, force: true });
  }
}
