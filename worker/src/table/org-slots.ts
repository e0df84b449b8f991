import type { OrganizationEntry } from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import type { CompiledRoute } from "./compile.js";

/**
 * What the routing table holds of one organization id: its compiled routes by model (the slot is
 * that map, so a route lookup reads one object less), its entry if the table has one, and
 * whether keys of it authenticate. A key record points at its organization's slot, so the hot
 * path reads `slot.active` and `slot.get(model)` instead of looking the organization up twice
 * by id (issue 8, target 5).
 *
 * A slot lives while anything names its id: the organization, a route or a key. When none does,
 * it is dropped and marked `retired`; a record that still points at it (a request in flight
 * across the change, or across a snapshot, which retires every slot) then goes back to the
 * lookup by id, so it sees exactly what the table holds now.
 */
export class OrgSlot extends Map<string, CompiledRoute> {
  entry: OrganizationEntry | undefined = undefined;
  /** The organization exists and is enabled. */
  active = false;
  /** Key records pointing at this slot. */
  keyCount = 0;
  retired = false;
  /** `id`: the one string instance of this organization id (interned). */
  constructor(readonly id: string) {
    super();
  }
}

export interface OrgSlots {
  /** The slot of an id, made when there is none; `id` is interned by the caller. */
  slot(id: string): OrgSlot;
  find(id: string): OrgSlot | undefined;
  setEntry(e: OrganizationEntry, id: string): void;
  removeEntry(id: string): OrganizationEntry | undefined;
  /** Drops the slot if nothing names its id any more. */
  release(slot: OrgSlot): void;
  /** Retires every slot (a snapshot). */
  clear(): void;
  /** Organizations with an entry. */
  readonly organizations: number;
}

export function createOrgSlots(): OrgSlots {
  const slots = new Map<string, OrgSlot>();
  let organizations = 0;

  function slot(id: string): OrgSlot {
    let s = slots.get(id);
    if (s === undefined) {
      s = new OrgSlot(id);
      slots.set(id, s);
    }
    return s;
  }

  function release(s: OrgSlot): void {
    if (s.retired || s.entry !== undefined || s.size > 0 || s.keyCount > 0) return;
    slots.delete(s.id);
    s.retired = true;
  }

  return {
    slot,
    find: (id) => slots.get(id),
    setEntry(e, id) {
      const s = slot(id);
      if (s.entry === undefined) organizations++;
      s.entry = e;
      s.active = !e.disabled;
    },
    removeEntry(id) {
      const s = slots.get(id);
      const old = s?.entry;
      if (s === undefined || old === undefined) return undefined;
      organizations--;
      s.entry = undefined;
      s.active = false;
      release(s);
      return old;
    },
    release,
    clear() {
      for (const s of slots.values()) s.retired = true;
      slots.clear();
      organizations = 0;
    },
    get organizations() {
      return organizations;
    },
  };
}
