/** A worker connected to this control-plane replica and the table version it was sent. */
export interface WorkerInfo {
  workerId: string;
  hostname: string;
  buildVersion: string;
  connectedAt: Date;
  version: number;
  lastSentAt: Date | null;
}

export interface WorkerSession {
  readonly sentOnce: boolean;
  sent(version: number): void;
  closed(): void;
}

/** Tracks the workers watching this replica, for the worker list and logs. */
export interface WorkerRegistry {
  connected(info: Pick<WorkerInfo, "workerId" | "hostname" | "buildVersion">): WorkerSession;
  list(): WorkerInfo[];
}

export function createWorkerRegistry(): WorkerRegistry {
  const workers = new Map<WorkerInfo, true>();
  return {
    connected({ workerId, hostname, buildVersion }) {
      const info: WorkerInfo = {
        workerId,
        hostname,
        buildVersion,
        connectedAt: new Date(),
        version: 0,
        lastSentAt: null,
      };
      workers.set(info, true);
      return {
        get sentOnce() {
          return info.lastSentAt !== null;
        },
        sent(version) {
          info.version = version;
          info.lastSentAt = new Date();
        },
        closed() {
          workers.delete(info);
        },
      };
    },
    list: () => [...workers.keys()].map((w) => ({ ...w })),
  };
}
