// The host console's "Your links": the host's active links (each with its URL to copy and a
// button to deactivate it) and the form that creates one.
import { api, request, type Auth, type Schemas } from "./api.ts";
import { announce, byId, h, moveFocusTo, showError, whileBusy } from "./dom.ts";
import { formatAmount, normaliseAmount } from "./money.ts";

type Link = Schemas["CallLink"];

export class LinksSection {
  private readonly list = byId("links", HTMLUListElement);
  private readonly empty = byId("links-empty", HTMLElement);
  private readonly heading = byId("links-heading", HTMLElement);
  private readonly form = byId("new-link-form", HTMLFormElement);

  constructor(private readonly auth: Auth) {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void whileBusy(byId("create-link", HTMLButtonElement), () => this.create());
    });
  }

  /** Lists the host's active links, newest first (the first 100: more is not a console's job). */
  async load(): Promise<void> {
    const page = await request(api.GET("/v1/links", { params: { query: { active: true, limit: 100 } }, headers: await this.auth() }));
    this.list.replaceChildren(...page.data.map((link) => this.item(link)));
    this.updateEmpty();
  }

  clear(): void {
    this.list.replaceChildren();
  }

  private async create() {
    const rate = byId("link-rate", HTMLInputElement);
    const windowMinutes = byId("link-window", HTMLInputElement);
    const label = byId("link-label", HTMLInputElement);
    const ratePerMinute = normaliseAmount(rate.value);
    if (!ratePerMinute) throw new Error("Enter the rate per minute as an amount in dollars, for example 2.50.");
    const { link } = await request(
      api.POST("/v1/links", {
        body: { rate_per_minute: ratePerMinute, window_size_minutes: Number(windowMinutes.value), label: label.value.trim() || null },
        headers: await this.auth(),
      }),
    );
    const item = this.item(link);
    this.list.prepend(item);
    this.updateEmpty();
    label.value = "";
    announce(`Link created: ${link.url}`);
    // The new link's address, ready to be copied.
    item.querySelector("input")?.focus();
  }

  private item(link: Link): HTMLLIElement {
    const titleId = `link-${link.id}-title`;
    const urlId = `link-${link.id}-url`;
    const name = link.label ?? "Untitled link";
    const url = h("input", { id: urlId, type: "text", readonly: "", value: link.url, class: "url" });
    const copy = h("button", { type: "button", "aria-describedby": titleId }, "Copy link");
    const deactivate = h("button", { type: "button", class: "secondary", "aria-describedby": titleId }, "Deactivate");
    const item = h(
      "li",
      { class: "card" },
      h("p", { class: "card-title" }, h("strong", { id: titleId }, name)),
      h("p", {}, `${formatAmount(link.rate_per_minute)} per minute, ${link.window_size_minutes}-minute windows`),
      h("label", { for: urlId }, `Address of ${name}`),
      url,
      h("div", { class: "actions" }, copy, deactivate),
    );
    copy.addEventListener("click", () => void this.copy(url));
    deactivate.addEventListener("click", () => void whileBusy(deactivate, () => this.deactivate(link, item)));
    return item;
  }

  private async copy(input: HTMLInputElement) {
    try {
      await navigator.clipboard.writeText(input.value);
      announce("Link copied.");
    } catch {
      // No clipboard access (an insecure origin, a refused permission): the text is selected
      // for the host to copy by hand.
      input.select();
      showError("The link could not be copied automatically: it is selected, copy it with your keyboard.");
    }
  }

  private async deactivate(link: Link, item: HTMLLIElement) {
    await request(api.DELETE("/v1/links/{id}", { params: { path: { id: link.id } }, headers: await this.auth() }));
    item.remove();
    this.updateEmpty();
    announce(`${link.label ?? "The link"} is deactivated.`);
    // The focused button is gone with its item.
    moveFocusTo(this.heading);
  }

  private updateEmpty() {
    this.empty.hidden = this.list.children.length > 0;
  }
}
