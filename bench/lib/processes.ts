import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

export interface Child {
  process: ChildProcess;
  pid: number;
  output(): string;
  /** Resolves with the first match of `pattern` in the output so far or to come. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves at exit. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a child process, keeping its stdout+stderr (tail) for waitFor and error reports. */
export function startChild(command: string, args: string[], env: Record<string, string | undefined>, cwd?: string): Child {
  const child = spawn(command, args, { env: env as NodeJS.ProcessEnv, cwd, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString("utf8");
    if (text.length > 200_000) text = text.slice(-100_000);
    for (const waiter of waiters) waiter();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("exit", () => {
    for (const waiter of waiters) waiter();
  });
  return {
    process: child,
    pid: child.pid!,
    output: () => text,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(text);
          if (match) {
            done();
            resolve(match);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`${command} ${args.join(" ")} exited before printing ${pattern}:\n${text.slice(-3000)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern} from ${command} ${args.join(" ")}:\n${text.slice(-3000)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resident set size now and at its peak (VmRSS, VmHWM), in MB; undefined once the process is gone. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The 1-minute load average and the core count, for the record. */
export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux (`getconf CLK_TCK`)

/** What `/proc/<pid>/stat` says of one process: its parent and CPU ticks (USER_HZ), its own and its reaped children's. */
export interface ProcStat {
  pid: number;
  ppid: number;
  user: number;
  system: number;
  /** cutime + cstime: what its exited children used. */
  children: number;
}

/** Every process now alive, from /proc. */
export function readProcStats(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name (field 2) may hold spaces; the fields after it are counted from its closing parenthesis.
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      const pid = Number(entry);
      stats.set(pid, { pid, ppid: Number(fields[1]), user: Number(fields[11]), system: Number(fields[12]), children: Number(fields[13]) + Number(fields[14]) });
    } catch {
      // gone between readdir and read
    }
  }
  return stats;
}

/** The live processes of the trees rooted at `roots` (each once). */
function processesOfTrees(stats: Map<number, ProcStat>, roots: number[]): ProcStat[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of stats.values()) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const seen = new Map<number, ProcStat>();
  const stack = roots.filter((pid) => stats.has(pid));
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.set(pid, stats.get(pid)!);
    stack.push(...(children.get(pid) ?? []));
  }
  return [...seen.values()];
}

/**
 * CPU seconds (user + system) used so far by the process trees rooted at `roots`: every live
 * process below them, plus what their exited children used (cutime/cstime, counted once in the
 * parent that reaped them). Two readings around a run give the CPU that run cost.
 */
export function cpuSecondsOfTrees(roots: number[]): number {
  const ticks = processesOfTrees(readProcStats(), roots).reduce((sum, p) => sum + p.user + p.system + p.children, 0);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** The postmaster's pid from a data directory's postmaster.pid. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds the live processes of the trees rooted at `roots` have run so far, from the
 * scheduler's own clock (`/proc/<pid>/task/<tid>/schedstat`, nanoseconds, every thread). Unlike
 * `/proc/<pid>/stat`, whose user/system times are sampled at the timer tick (4 ms here) and charge a
 * whole tick to whatever runs when it fires, this is exact for processes that wake often and run
 * briefly — a web process or worker under light load. Threads or processes that exited between two
 * readings are not in it (their time is lost, not misattributed).
 */
export function preciseCpuSecondsOfTrees(roots: number[]): number {
  let nanoseconds = 0;
  for (const { pid } of processesOfTrees(readProcStats(), roots)) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        nanoseconds += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      }
    } catch {
      // gone
    }
  }
  return nanoseconds / 1e9;
}
