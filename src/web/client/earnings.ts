// The host console's "Earnings": the totals (getEarnings) and one row per captured billing window
// (getPaymentHistory, type `earning`): gross, the platform fee, and the host's net.
import { api, request, type Auth } from "./api.ts";
import { byId, formatDateTime, h } from "./dom.ts";
import { formatAmount } from "./money.ts";


/** The last entries shown; the rest is in the payment history. */
const ROWS = 50;

export class EarningsSection {
  private readonly rows = byId("earnings", HTMLTableElement).tBodies[0]!;
  private readonly total = byId("earnings-total", HTMLElement);
  private readonly empty = byId("earnings-empty", HTMLElement);

  constructor(private readonly auth: Auth) {}

  async load(): Promise<void> {
    const headers = await this.auth();
    const [history, earnings] = await Promise.all([
      request(api.GET("/v1/payments/history", { params: { query: { type: "earning", limit: ROWS } }, headers })),
      request(api.GET("/v1/payments/earnings", { headers })),
    ]);
    this.rows.replaceChildren(
      ...history.data.map((entry) =>
        h(
          "tr",
          {},
          h("td", {}, formatDateTime(entry.created_at)),
          // The call's id is long: its end identifies it well enough here.
          h("td", {}, h("span", { title: entry.call_id }, `…${entry.call_id.slice(-6)}`), `, window ${entry.window}`),
          h("td", { class: "amount" }, formatAmount(entry.amount)),
          h("td", { class: "amount" }, entry.fee ? formatAmount(entry.fee) : "—"),
          h("td", { class: "amount" }, entry.net ? formatAmount(entry.net) : "—"),
        ),
      ),
    );
    this.empty.hidden = history.data.length > 0;
    const usd = earnings.earnings.find((balance) => balance.currency === "usd");
    this.total.textContent = usd
      ? `In total: ${formatAmount(usd.gross)} earned, ${formatAmount(usd.fee)} in fees, ${formatAmount(usd.net)} for you.`
      : "";
  }

  clear(): void {
    this.rows.replaceChildren();
    this.total.textContent = "";
  }
}
