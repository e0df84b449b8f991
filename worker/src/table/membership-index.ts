import type { MembershipEntry } from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";

/** The stored OIDC memberships, by id (as deltas name them) and by issuer and subject. */
export interface MembershipIndex {
  put(e: MembershipEntry): void;
  remove(id: string): void;
  /** The memberships of a user (by issuer and subject). */
  of(issuer: string, subject: string): MembershipEntry[];
  clear(): void;
}

export function createMembershipIndex(): MembershipIndex {
  const byId = new Map<string, MembershipEntry>();
  const bySubject = new Map<string, Map<string, MembershipEntry>>(); // "<issuer>\0<subject>" -> id -> entry
  const subjectOf = (issuer: string, subject: string) => `${issuer}\u0000${subject}`;

  function remove(id: string): void {
    const old = byId.get(id);
    if (!old) return;
    byId.delete(id);
    const subject = subjectOf(old.issuer, old.subject);
    const group = bySubject.get(subject);
    group?.delete(id);
    if (group?.size === 0) bySubject.delete(subject);
  }

  return {
    put(e) {
      remove(e.id);
      const subject = subjectOf(e.issuer, e.subject);
      byId.set(e.id, e);
      let group = bySubject.get(subject);
      if (!group) {
        group = new Map();
        bySubject.set(subject, group);
      }
      group.set(e.id, e);
    },
    remove,
    of: (issuer, subject) => [...(bySubject.get(subjectOf(issuer, subject))?.values() ?? [])],
    clear() {
      byId.clear();
      bySubject.clear();
    },
  };
}
