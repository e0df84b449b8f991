/** What a benchmark ran on: figures from other machines (or a busy one) do not compare. */
import { cpus, loadavg, release, totalmem } from "node:os";

export interface Machine {
  cpus: number;
  cpu: string | undefined;
  memoryGiB: number;
  node: string;
  kernel: string;
  /** 1, 5 and 15 minute load averages when read: other work on the machine skews the figures. */
  loadAverage: number[];
}

export function machine(): Machine {
  return {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
    loadAverage: loadavg(),
  };
}

/** A result file name: `<name>-<ISO date with : and . replaced>.json`. */
export function stampedName(name: string, date: string, ext = "json"): string {
  return `${name}-${date.replaceAll(":", "-").replace(".", "-")}.${ext}`;
}
