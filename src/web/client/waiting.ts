// The host console's "Waiting calls": guests who started a call and wait for the host. Loaded at
// sign-in (and whenever the live stream reconnects), kept current by the live notifications, and
// emptied of a call once it is joined, declined or over.
import { api, ApiError, idempotencyKey, request, type Auth, type Call } from "./api.ts";
import { announce, byId, formatClock, h, moveFocusTo, whileBusy } from "./dom.ts";
import { formatAmount } from "./money.ts";


/** What the list shows of a waiting call (from listCalls or a call_incoming notification). */
export interface WaitingCall {
  id: string;
  guestName: string;
  ratePerMinute: string;
  since: string;
}

export interface WaitingActions {
  /** The host pressed "Join call with …". */
  join(call: WaitingCall): Promise<void>;
}

export class WaitingCalls {
  private readonly list = byId("waiting-calls", HTMLUListElement);
  private readonly empty = byId("waiting-empty", HTMLElement);
  private readonly heading = byId("waiting-heading", HTMLElement);
  private readonly items = new Map<string, HTMLLIElement>();
  /** While the host is in a call, joining another one waits. */
  private joinable = true;

  constructor(
    private readonly auth: Auth,
    private readonly actions: WaitingActions,
  ) {}

  /** Reads the waiting calls again: adds the new ones, drops those no longer waiting. */
  async load(): Promise<void> {
    const page = await request(api.GET("/v1/calls", { params: { query: { status: "waiting", role: "host", limit: 100 } }, headers: await this.auth() }));
    const waiting = new Set(page.data.map((call) => call.id));
    for (const id of this.items.keys()) if (!waiting.has(id)) this.remove(id);
    // Oldest first: the guest who has waited longest is at the top.
    for (const call of [...page.data].reverse()) this.add(fromCall(call));
  }

  add(call: WaitingCall): void {
    if (this.items.has(call.id)) return;
    const join = h("button", { type: "button", class: "primary" }, `Join call with ${call.guestName}`);
    const decline = h("button", { type: "button", class: "secondary", "aria-label": `Decline call from ${call.guestName}` }, "Decline");
    join.disabled = !this.joinable;
    const item = h(
      "li",
      { class: "card", "data-call-id": call.id },
      h("p", { class: "card-title" }, h("strong", {}, call.guestName)),
      h("p", {}, `${formatAmount(call.ratePerMinute)} per minute, waiting since ${formatClock(call.since)}`),
      h("div", { class: "actions" }, join, decline),
    );
    join.addEventListener("click", () => void whileBusy(join, () => this.actions.join(call)));
    decline.addEventListener("click", () => void whileBusy(decline, () => this.decline(call)));
    this.items.set(call.id, item);
    this.list.append(item);
    this.updateEmpty();
  }

  remove(id: string): void {
    const item = this.items.get(id);
    if (!item) return;
    const hadFocus = item.contains(document.activeElement);
    item.remove();
    this.items.delete(id);
    this.updateEmpty();
    if (hadFocus) moveFocusTo(this.heading);
  }

  /** Whether the Join buttons work (not while the host is in a call). */
  setJoinable(joinable: boolean): void {
    this.joinable = joinable;
    for (const item of this.items.values()) {
      const join = item.querySelector("button");
      if (join) join.disabled = !joinable;
    }
  }

  clear(): void {
    for (const id of [...this.items.keys()]) this.remove(id);
  }

  /** Ending a call that is still waiting declines it: the guest's hold is released. */
  private async decline(call: WaitingCall) {
    try {
      await request(
        api.POST("/v1/calls/{id}/end", {
          params: { path: { id: call.id }, header: { "X-Idempotency-Key": idempotencyKey() } },
          headers: await this.auth(),
        }),
      );
    } catch (err) {
      // Already over (the guest left): gone from the list all the same.
      if (!(err instanceof ApiError && err.code === "call_not_active")) throw err;
    }
    this.remove(call.id);
    announce(`Declined the call from ${call.guestName}.`);
    // The focused button went with its item.
    moveFocusTo(this.heading);
  }

  private updateEmpty() {
    this.empty.hidden = this.items.size > 0;
  }
}

export function fromCall(call: Call): WaitingCall {
  return { id: call.id, guestName: call.guest.display_name, ratePerMinute: call.rate_per_minute, since: call.created_at };
}
