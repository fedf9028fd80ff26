// Small DOM helpers shared by both pages: finding the elements the server rendered, the page's
// error line, busy buttons, and times of day.
import { describeError } from "./api.ts";
import { PAGE_DATA_ID } from "./page-data.ts";

/**
 * The element with this id, of this type. The pages are rendered by the server (src/web/pages.ts)
 * with every element the scripts use, so a missing one is a bug, reported loudly.
 */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return element;
}

/** The JSON the server put in #page-data. */
export function readPageData<T>(): T {
  return JSON.parse(byId(PAGE_DATA_ID, HTMLScriptElement).textContent ?? "null") as T;
}

/**
 * Shows an error in #error (role="alert": screen readers announce it). The element is un-hidden
 * before its text changes, so that the change is announced.
 */
export function showError(err: unknown): void {
  const box = byId("error", HTMLElement);
  box.hidden = false;
  box.textContent = typeof err === "string" ? err : describeError(err);
}

export function clearError(): void {
  const box = byId("error", HTMLElement);
  box.textContent = "";
  box.hidden = true;
}

/**
 * Runs `work` with the button disabled (no double submission), clearing the previous error
 * first and showing the new one, if any, in #error. Resolves to whether the work succeeded.
 */
export async function whileBusy(button: HTMLButtonElement, work: () => Promise<void>): Promise<boolean> {
  clearError();
  const hadFocus = document.activeElement === button;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await work();
    return true;
  } catch (err) {
    showError(err);
    return false;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    // Disabling the focused button sent the focus to the page's body. A keyboard user gets their
    // place back, unless the work moved the focus on purpose (or removed the button).
    if (hadFocus && document.activeElement === document.body && button.isConnected) button.focus();
  }
}

/** Moves the keyboard focus to an element that is not focusable by itself (a heading). */
export function moveFocusTo(element: HTMLElement): void {
  if (!element.hasAttribute("tabindex")) element.setAttribute("tabindex", "-1");
  element.focus();
}

/**
 * "14:05", or "14:05:30" with `seconds`, in the viewer's time zone. A paid window ends at any
 * second: "paid until" and "will end at" show the seconds, so that they can be read against the
 * clock to the second.
 */
export function formatClock(instant: string | number, { seconds = false } = {}): string {
  const at = new Date(instant);
  const parts = [at.getHours(), at.getMinutes(), ...(seconds ? [at.getSeconds()] : [])];
  return parts.map((part) => String(part).padStart(2, "0")).join(":");
}

/** A date and time in the viewer's locale ("20/11/2024, 12:40"). */
export function formatDateTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Waits this long (between retries and polls). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A new element with attributes and children (text is inserted as text, never parsed as HTML).
 * `h("button", { type: "button", "aria-describedby": "x" }, "Copy link")`.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** A polite announcement for screen readers (#announcer), for changes made away from the focus. */
export function announce(text: string): void {
  const announcer = byId("announcer", HTMLElement);
  // Emptied first: the same text twice in a row is announced twice.
  announcer.textContent = "";
  setTimeout(() => (announcer.textContent = text), 50);
}
