/**
 * CPU time of the PostgreSQL backends serving one database, read from /proc,
 * so that the bench can count what a request costs the database as well as
 * the server process: a statement that is cheap for Node but dear for
 * PostgreSQL is otherwise unseen.
 *
 * The backends are the postmaster's children whose process title
 * (`postgres: [cluster: ]user database host(port) activity`) names the
 * database, plus the parallel workers of those backends. The postmaster is
 * found from the bench's own connection (`pg_backend_pid()`); when that pid is
 * not a local process (a remote server, another pid namespace) PostgreSQL's CPU
 * cannot be counted and the bench prints none. Backends come and go with the
 * pools, so a measurement samples the set every 200 ms: a backend that
 * appears counts all its CPU (it started during the run), one that exits
 * counts up to its last sample.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const TICK_US = 1e6 / Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim() || 100);
const SAMPLE_MS = 200;

/** utime + stime of a process (all its threads), in microseconds; null once it has exited. */
export function processCpuUs(pid: number): number | null {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

function parentPid(pid: number): number | null {
  const stat = read(`/proc/${pid}/stat`);
  return stat === null ? null : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

const TITLE = /^postgres: (?:\S+: )?(\S+) (\S+) /;
const PARALLEL = /^postgres: (?:\S+: )?parallel worker for PID (\d+)/;

export class PgBackendCpu {
  private constructor(
    private readonly postmaster: number,
    private readonly database: string,
  ) {}

  /**
   * The sampler for the database of `backendPid` (a connection of the
   * bench's), or null when that backend is not a process this machine can see.
   */
  static find(backendPid: number, database: string): PgBackendCpu | null {
    const title = read(`/proc/${backendPid}/cmdline`)?.replace(/\0/g, ' ');
    if (!title || TITLE.exec(title)?.[2] !== database) return null;
    const postmaster = parentPid(backendPid);
    return postmaster ? new PgBackendCpu(postmaster, database) : null;
  }

  /** The pids of the backends serving the database now. */
  backends(): number[] {
    const children = this.children();
    const serving = new Set<number>();
    const parallel: [number, number][] = [];
    for (const pid of children) {
      const title = read(`/proc/${pid}/cmdline`)?.replace(/\0/g, ' ') ?? '';
      const leader = PARALLEL.exec(title);
      if (leader) parallel.push([pid, Number(leader[1])]);
      else if (TITLE.exec(title)?.[2] === this.database) serving.add(pid);
    }
    for (const [pid, leader] of parallel) if (serving.has(leader)) serving.add(pid);
    return [...serving];
  }

  /** Starts counting; `stop()` returns the CPU µs the backends spent since. */
  start(): { stop: () => number } {
    const atStart = new Map<number, number>();
    const latest = new Map<number, number>();
    const sample = (into: Map<number, number>[]) => {
      for (const pid of this.backends()) {
        const cpu = processCpuUs(pid);
        if (cpu !== null) for (const map of into) map.set(pid, cpu);
      }
    };
    sample([atStart, latest]);
    const timer = setInterval(() => sample([latest]), SAMPLE_MS);
    return {
      stop: () => {
        clearInterval(timer);
        sample([latest]);
        let total = 0;
        for (const [pid, cpu] of latest) total += cpu - (atStart.get(pid) ?? 0);
        return total;
      },
    };
  }

  private children(): number[] {
    const listed = read(`/proc/${this.postmaster}/task/${this.postmaster}/children`);
    if (listed !== null) return listed.trim().split(/\s+/).filter(Boolean).map(Number);
    // Kernels without CONFIG_PROC_CHILDREN: every process whose parent is the postmaster.
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((pid) => parentPid(pid) === this.postmaster);
  }
}
