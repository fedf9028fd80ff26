// The HTML of the guest page (/c/{short_code}), the unavailable-link page and the host console
// (/host): pure functions of what the route resolved, with every text escaped. The pages carry no
// inline script or style (the Content-Security-Policy forbids both): the script and the stylesheet
// are the bundled assets, and what the script needs to know is JSON in #page-data.
import type { PageAssets } from "./assets.ts";
import { formatAmount, formatCents, toCents } from "./client/money.ts";
import { PAGE_DATA_ID, type GuestPageData, type LinkResolution, type PagePayments } from "./client/page-data.ts";

export type { LinkResolution, PageAssets, PagePayments };

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** The guest page of a link that can be called now. */
export function guestPage(link: LinkResolution, assets: PageAssets, payments: PagePayments): string {
  const host = escapeHtml(link.host.display_name);
  const rate = formatAmount(link.rate_per_minute);
  const minutes = link.window_size_minutes;
  // The first hold: one whole window at the rate (docs/billing.md).
  const firstHold = formatCents(minutes * toCents(link.rate_per_minute));
  const data: GuestPageData = { link, payments };
  // The picture's alt is empty: the heading next to it names the host already (a screen reader
  // would read the name twice).
  const body = `
<header class="host-card">
  ${link.host.avatar_url ? `<img id="host-avatar" src="${escapeHtml(link.host.avatar_url)}" alt="" width="96" height="96">` : ""}
  <div>
    <h1>Call ${host}</h1>
    ${link.label ? `<p id="label" class="link-label">${escapeHtml(link.label)}</p>` : ""}
  </div>
</header>
${errorLine()}
${rejoinSection(link)}
<section id="start-section" aria-labelledby="price-heading">
  <h2 id="price-heading">Price</h2>
  <p id="rate" class="rate">${rate} per minute</p>
  <p id="window">Billed in ${minutes}-minute windows</p>
  <p id="price-rule">When the call starts we hold ${firstHold} (${minutes} × ${rate}) on your card; you are charged per started minute.</p>
  <form id="start-form" class="stack">
    <div class="field">
      <label for="guest-name">Your name</label>
      <input id="guest-name" name="guest_name" type="text" required maxlength="80" autocomplete="name">
    </div>
    ${payments.provider === "stripe" ? stripeCardField() : simulatedCardField()}
    <button id="start" type="submit" class="primary">Start call</button>
  </form>
</section>
${callSections(`<p><a id="call-again" href="${escapeHtml(link.url)}">Call ${host} again</a></p>`)}`;
  return layout({ title: `Call ${link.host.display_name}`, body, assets, data });
}

/**
 * The page of a link that cannot be called: unknown (`link` null: 404) or unavailable now (410),
 * with the reason. A known link's page also has the guest script and the call view: a guest whose
 * call began before the link became unavailable (its last use taken, say) rejoins it on a reload.
 */
export function unavailablePage(link: LinkResolution | null, assets: PageAssets): string {
  if (!link) {
    const body = `<h1>This link does not exist</h1>
<p id="reason">Check the address, or ask the host for a new link.</p>`;
    return layout({ title: "This link does not exist", body, assets: { stylesheet: assets.stylesheet } });
  }
  const data: GuestPageData = { link, payments: null };
  const body = `<h1>This link is unavailable</h1>
${errorLine()}
<div id="unavailable">
  <p id="reason">${escapeHtml(reasonSentence(link))}</p>
  <p>This is ${escapeHtml(link.host.display_name)}’s link. Ask them for another one if you still want to call.</p>
</div>
${rejoinSection(link)}
${callSections("")}`;
  return layout({ title: "This link is unavailable", body, assets, data });
}

/**
 * The host console: signed out, a sign-in form; signed in (the script decides), the console. The
 * call view is not part of #console: a call goes on when the console goes (the host's session
 * ended mid-call, src/web/client/host.ts).
 */
export function hostPage(assets: PageAssets): string {
  const body = `
<h1>Host console</h1>
${errorLine()}
<p id="announcer" class="visually-hidden" role="status" aria-live="polite"></p>
<section id="sign-in" aria-labelledby="sign-in-heading">
  <h2 id="sign-in-heading">Sign in</h2>
  <form id="sign-in-form" class="stack">
    <div class="field">
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required>
    </div>
    <div class="field">
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required>
    </div>
    <button id="sign-in-button" type="submit" class="primary">Sign in</button>
  </form>
</section>
<div id="account" class="account" hidden>
  <p id="signed-in-as"></p>
  <button id="sign-out" type="button">Sign out</button>
</div>
${callSections("")}
<div id="console" hidden>
  <section aria-labelledby="waiting-heading">
    <h2 id="waiting-heading">Waiting calls</h2>
    <p id="waiting-empty">No one is waiting.</p>
    <ul id="waiting-calls" class="cards"></ul>
  </section>
  <section aria-labelledby="links-heading">
    <h2 id="links-heading">Your links</h2>
    <p id="links-empty" hidden>You have no active links yet.</p>
    <ul id="links" class="cards"></ul>
    <form id="new-link-form" class="stack card" aria-labelledby="new-link-heading">
      <h3 id="new-link-heading">New link</h3>
      <div class="field">
        <label for="link-rate">Rate per minute (USD)</label>
        <input id="link-rate" name="rate_per_minute" type="text" inputmode="decimal" required value="2.50" aria-describedby="link-rate-hint">
        <p id="link-rate-hint" class="hint">From 0.50 to 999.99.</p>
      </div>
      <div class="field">
        <label for="link-window">Window (minutes)</label>
        <input id="link-window" name="window_size_minutes" type="number" min="1" max="60" step="1" required value="10" aria-describedby="link-window-hint">
        <p id="link-window-hint" class="hint">Each window is held on the guest’s card before it starts (1 to 60 minutes).</p>
      </div>
      <div class="field">
        <label for="link-label">Label</label>
        <input id="link-label" name="label" type="text" maxlength="120" aria-describedby="link-label-hint">
        <p id="link-label-hint" class="hint">Optional; guests see it.</p>
      </div>
      <button id="create-link" type="submit" class="primary">Create link</button>
    </form>
  </section>
  <section aria-labelledby="earnings-heading">
    <h2 id="earnings-heading">Earnings</h2>
    <p id="earnings-total"></p>
    <table id="earnings">
      <caption class="visually-hidden">Captured payments, newest first</caption>
      <thead>
        <tr><th scope="col">Date</th><th scope="col">Call</th><th scope="col" class="amount">Gross</th><th scope="col" class="amount">Fee</th><th scope="col" class="amount">Net</th></tr>
      </thead>
      <tbody></tbody>
    </table>
    <p id="earnings-empty">No earnings yet.</p>
  </section>
</div>`;
  return layout({ title: "Host console", body, assets });
}

// --- parts ------------------------------------------------------------------------------------

interface Layout {
  /** Text (escaped here). */
  title: string;
  body: string;
  /** The script is left out of pages that need none. */
  assets: { stylesheet: string; script?: string };
  /** For the page's script (#page-data). */
  data?: GuestPageData;
}

/** A whole page. None is for search engines: a call link is shared privately. */
function layout({ title, body, assets, data }: Layout): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHtml(assets.stylesheet)}">
${assets.script ? `<script type="module" src="${escapeHtml(assets.script)}"></script>` : ""}
</head>
<body>
<main>
${body.trim()}
</main>
${data ? `<script type="application/json" id="${PAGE_DATA_ID}">${jsonForHtml(data)}</script>` : ""}
</body>
</html>
`;
}

/**
 * JSON that cannot end the <script> element it sits in: every `<` is written as \u003c, which
 * JSON.parse reads back as `<`. (The element is data, never executed.)
 */
function jsonForHtml(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/** The page's error line: role="alert", hidden while empty (src/web/client/dom.ts fills it). */
function errorLine(): string {
  return `<p id="error" class="error" role="alert" hidden></p>`;
}

/** The simulated provider's test cards (docs/billing.md): what each one does, in its name. */
const TEST_CARDS: [id: string, label: string][] = [
  ["pm_card_visa", "Visa •••• 4242 (approved)"],
  ["pm_card_mastercard", "Mastercard (approved)"],
  ["pm_card_chargeDeclined", "Declined card"],
  ["pm_card_insufficientFunds", "Insufficient funds"],
  ["pm_card_declineAfterFirstHold", "Declines after the first window"],
];

function simulatedCardField(): string {
  const options = TEST_CARDS.map(([id, label]) => `<option value="${id}">${escapeHtml(label)}</option>`).join("");
  return `<div class="field">
      <label for="card">Card</label>
      <select id="card" name="payment_method_id" aria-describedby="card-hint">${options}</select>
      <p id="card-hint" class="hint">Payments on this server are simulated: these test cards charge nothing.</p>
    </div>`;
}

/** Stripe's Payment Element is mounted here by the script (it renders its own labelled fields). */
function stripeCardField(): string {
  return `<fieldset class="field">
      <legend>Card</legend>
      <div id="payment-element"></div>
    </fieldset>`;
}

/**
 * The call view and the end view, the same on both pages (src/web/client/call.ts runs them).
 * `afterEnd`: what the page adds under the amount charged.
 */
function callSections(afterEnd: string): string {
  return `<section id="call" class="call" aria-labelledby="call-heading" hidden>
  <h2 id="call-heading" tabindex="-1">Call</h2>
  <p id="call-status" class="call-status" role="status" aria-live="polite"></p>
  <div id="call-live">
    <div class="videos">
      <video id="remote-video" class="remote" autoplay playsinline aria-label="Remote video"></video>
      <video id="local-video" class="local" autoplay playsinline muted aria-label="Your camera"></video>
    </div>
    <button id="play-remote" type="button" hidden>Play the other side’s sound and video</button>
    <div class="controls">
      <button id="mute" type="button" aria-pressed="false">Mute</button>
      <button id="camera" type="button" aria-pressed="false">Camera off</button>
      <button id="hangup" type="button" class="danger">Hang up</button>
    </div>
    <div class="billing">
      <p id="cost">Running cost: $0.00</p>
      <p id="billing"></p>
      <p id="billing-warning" class="warning" role="alert" hidden></p>
    </div>
  </div>
</section>
<section id="ended" class="ended" aria-labelledby="ended-heading" hidden>
  <h2 id="ended-heading" tabindex="-1">Call ended</h2>
  <p><span id="amount-label">Amount charged:</span> <strong id="amount-charged"></strong><span id="amount-note"></span></p>
  <p id="end-reason"></p>
  ${afterEnd}
</section>`;
}

/**
 * What a guest page offers instead of the start form when the call this tab started could not be
 * rejoined after a reload (the network, the camera) and may still be going on: src/web/client/guest.ts.
 */
function rejoinSection(link: LinkResolution): string {
  return `<section id="rejoin" aria-labelledby="rejoin-heading" hidden>
  <h2 id="rejoin-heading" tabindex="-1">Your call may still be going on</h2>
  <p>The call you started in this tab with ${escapeHtml(link.host.display_name)} could not be rejoined just now. Rejoin it, or end it.</p>
  <div class="actions">
    <button id="rejoin-call" type="button" class="primary">Rejoin the call</button>
    <button id="end-stored-call" type="button" class="danger">End that call</button>
  </div>
</section>`;
}

/** Why a link cannot be called, in a sentence. */
function reasonSentence(link: LinkResolution): string {
  switch (link.unavailable_reason) {
    case "inactive":
      return "The host has deactivated this link.";
    case "expired":
      return "This link has expired.";
    case "uses_exhausted":
      return "This link has been used as many times as the host allowed.";
    case "outside_schedule":
      return scheduleSentence(link.scheduled_start, link.scheduled_end);
    case "payments_disabled":
      return "The host cannot take payments at the moment. Please try again later.";
    case null:
      return "This link cannot be called at the moment.";
  }
}

const SCHEDULE_FORMAT = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

/** The schedule, in UTC: the server does not know the guest's time zone. */
function scheduleSentence(start: string | null, end: string | null): string {
  const at = (iso: string) => `${SCHEDULE_FORMAT.format(new Date(iso))} UTC`;
  if (start && end) return `This link can only be called from ${at(start)} to ${at(end)}.`;
  if (start) return `This link can only be called from ${at(start)}.`;
  if (end) return `This link could only be called until ${at(end)}.`;
  return "This link cannot be called at this time.";
}
