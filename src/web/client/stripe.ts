// The card field with the stripe provider: Stripe.js's Payment Element on a SetupIntent of the
// guest's own Stripe customer (createGuestSetupIntent), confirmed when the guest starts the call;
// its payment method is what initiate holds. Stripe.js is loaded from js.stripe.com only on pages
// that need it (the page's CSP allows it with this provider only). Only the few calls used here
// are typed.
import { api, bearer, request } from "./api.ts";

interface StripeResult {
  error?: { message?: string };
}

interface StripeElements {
  create(type: "payment"): { mount(target: HTMLElement): void };
  submit(): Promise<StripeResult>;
}

interface StripeJs {
  elements(options: { clientSecret: string }): StripeElements;
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
  /** Confirms the SetupIntent with what the guest entered; resolves to its payment method's id. */
  paymentMethod(): Promise<string>;
  /** Completes a 3-D Secure challenge on the first hold's PaymentIntent. */
  authenticate(clientSecret: string): Promise<void>;
}

/** Mounts the Payment Element in `container`, on a SetupIntent of the guest with this token. */
export async function mountStripeCard(container: HTMLElement, guestToken: string): Promise<StripeCard> {
  const [intent, Stripe] = await Promise.all([
    request(api.POST("/v1/payments/guest/setup-intent", { headers: bearer(guestToken) })),
    loadStripeJs(),
  ]);
  const stripe = Stripe(intent.publishable_key);
  const elements = stripe.elements({ clientSecret: intent.client_secret });
  elements.create("payment").mount(container);

  return {
    async paymentMethod() {
      const checked = await elements.submit();
      if (checked.error) throw new Error(checked.error.message ?? "Check the card details.");
      // Cards are confirmed in place; a method that must redirect comes back to this page.
      const result = await stripe.confirmSetup({ elements, redirect: "if_required", confirmParams: { return_url: location.href } });
      if (result.error) throw new Error(result.error.message ?? "The card could not be saved.");
      const method = result.setupIntent?.payment_method;
      if (!method) throw new Error("The card could not be saved.");
      return typeof method === "string" ? method : method.id;
    },
    async authenticate(clientSecret) {
      const result = await stripe.handleNextAction({ clientSecret });
      if (result.error) throw new Error(result.error.message ?? "The card could not be authenticated.");
    },
  };
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
