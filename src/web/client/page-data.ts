// What the server hands a page's script: JSON in <script type="application/json" id="page-data">
// (src/web/pages.ts writes it; the Content-Security-Policy forbids inline scripts, not inline
// data). Types only, and no DOM, so that the server-side templates can import them too.
import type { components } from "../../contract/generated/api.d.ts";

export type LinkResolution = components["schemas"]["LinkResolution"];

/** How guests pay on this deployment (the server's PAYMENTS_PROVIDER). */
export interface PagePayments {
  provider: "simulated" | "stripe";
  /** Stripe's publishable key (stripe provider); null with the simulated one. */
  publishable_key: string | null;
}

/**
 * The guest page. Also on the page of a link that is unavailable now, with `payments` null: a guest
 * whose call started before (a single-use link, say) can still rejoin it after a reload.
 */
export interface GuestPageData {
  link: LinkResolution;
  payments: PagePayments | null;
}

/** The id of the element that carries the data. */
export const PAGE_DATA_ID = "page-data";
