// The card field with the stripe provider: Stripe.js's Payment Element on a SetupIntent of the
// guest's own Stripe customer (createGuestSetupIntent), confirmed when the guest starts the call;
// its payment method is what initiate holds. Stripe.js is loaded from js.stripe.com only on pages
// that need it (the page's CSP allows it with this provider only). Only the few calls used here
// are typed (https://docs.stripe.com/js).
//
// A SetupIntent is confirmed once: after that it has succeeded and cannot be confirmed again. So
// the payment method it saved is kept and given again while the field shows what was confirmed
// (a retry after a network error is then the very same initiate, idempotency key and all); once
// the card is declined, the field starts afresh on a new SetupIntent (an Elements group cannot
// change its client secret: a new group and a new Payment Element).
import { api, bearer, request } from "./api.ts";

interface StripeResult {
  error?: { message?: string };
}

interface StripePaymentElement {
  mount(target: HTMLElement): void;
  destroy(): void;
  /** The guest changed what the element holds. */
  on(event: "change", handler: () => void): void;
}

interface StripeElements {
  create(type: "payment"): StripePaymentElement;
}

interface StripeJs {
  elements(options: { clientSecret: string }): StripeElements;
  /**
   * Confirms the Elements group's SetupIntent with what the guest entered (an Elements group made
   * with a clientSecret needs no `elements.submit()` first).
   */
  confirmSetup(options: {
    elements: StripeElements;
    redirect: "if_required";
    confirmParams: { return_url: string };
  }): Promise<StripeResult & { setupIntent?: { payment_method: string | { id: string } | null } }>;
  handleNextAction(options: { clientSecret: string }): Promise<StripeResult>;
}

declare global {
  interface Window {
    Stripe?: (publishableKey: string) => StripeJs;
  }
}

const STRIPE_JS = "https://js.stripe.com/v3/";

/** A card the guest enters in Stripe's Payment Element. */
export interface StripeCard {
  /** The payment method of the card entered: the one saved before while the field is unchanged. */
  paymentMethod(): Promise<string>;
  /** Completes a 3-D Secure challenge on the first hold's PaymentIntent. */
  authenticate(clientSecret: string): Promise<void>;
  /** The card saved last is not to be used again (declined): the field starts afresh. */
  discard(): Promise<void>;
  /** Whether the field shows the card saved as this payment method (confirmed in it, unchanged since). */
  shows(paymentMethodId: string): boolean;
}

/** Mounts the Payment Element in `container`, on a SetupIntent of the guest `guestToken` gives. */
export async function mountStripeCard(container: HTMLElement, guestToken: () => Promise<string>): Promise<StripeCard> {
  const [intent, Stripe] = await Promise.all([newSetupIntent(guestToken), loadStripeJs()]);
  return new PaymentField(Stripe(intent.publishable_key), container, guestToken, intent.client_secret);
}

class PaymentField implements StripeCard {
  private elements!: StripeElements;
  private element: StripePaymentElement | null = null;
  /** The payment method the field's SetupIntent saved, while the field still shows that card. */
  private saved: string | null = null;
  /** The field's SetupIntent has succeeded: it cannot be confirmed again. */
  private intentUsed = false;

  constructor(
    private readonly stripe: StripeJs,
    private readonly container: HTMLElement,
    private readonly guestToken: () => Promise<string>,
    clientSecret: string,
  ) {
    this.mount(clientSecret);
  }

  async paymentMethod(): Promise<string> {
    if (this.saved) return this.saved;
    if (this.intentUsed) {
      // Other details typed in after the card was saved: its SetupIntent is spent.
      await this.discard();
      throw new Error("Please enter your card details again, then start the call.");
    }
    // Cards are confirmed in place; a method that must redirect comes back to this page.
    const result = await this.stripe.confirmSetup({ elements: this.elements, redirect: "if_required", confirmParams: { return_url: location.href } });
    if (result.error) throw new Error(result.error.message ?? "The card could not be saved.");
    const method = result.setupIntent?.payment_method;
    if (!method) throw new Error("The card could not be saved.");
    this.intentUsed = true;
    this.saved = typeof method === "string" ? method : method.id;
    return this.saved;
  }

  async authenticate(clientSecret: string): Promise<void> {
    const result = await this.stripe.handleNextAction({ clientSecret });
    if (result.error) throw new Error(result.error.message ?? "The card could not be authenticated.");
  }

  shows(paymentMethodId: string): boolean {
    return this.saved === paymentMethodId;
  }

  async discard(): Promise<void> {
    // Nothing saved is given any more, even if a new SetupIntent cannot be had just now (the next
    // "Start call" tries again).
    this.saved = null;
    const intent = await newSetupIntent(this.guestToken);
    this.mount(intent.client_secret);
  }

  private mount(clientSecret: string) {
    this.element?.destroy();
    this.elements = this.stripe.elements({ clientSecret });
    const element = this.elements.create("payment");
    element.on("change", () => {
      // Another card than the one saved: it is confirmed (on a new SetupIntent) before use.
      if (element === this.element) this.saved = null;
    });
    element.mount(this.container);
    this.element = element;
    this.saved = null;
    this.intentUsed = false;
  }
}

function newSetupIntent(guestToken: () => Promise<string>) {
  return guestToken().then((token) => request(api.POST("/v1/payments/guest/setup-intent", { headers: bearer(token) })));
}

function loadStripeJs(): Promise<NonNullable<Window["Stripe"]>> {
  return new Promise((resolve, reject) => {
    if (window.Stripe) return resolve(window.Stripe);
    const script = document.createElement("script");
    script.src = STRIPE_JS;
    script.addEventListener("load", () => (window.Stripe ? resolve(window.Stripe) : reject(new Error("Stripe.js did not load."))));
    script.addEventListener("error", () => reject(new Error("The card form could not be loaded. Check your connection and reload the page.")));
    document.head.append(script);
  });
}
