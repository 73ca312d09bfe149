// The first run and the demo, as pure rules the screens follow: which screen the
// window opens on, and what the welcome screen's "connect" flow shows next.
import type { FirstRun } from "./bindings";

/** Where the window opens: the welcome screen for an empty store never answered. */
export function openingScreen(state: FirstRun): "welcome" | "today" {
  return state.welcome && !state.demo ? "welcome" : "today";
}

/** The welcome screen's steps: the three choices, then for "connect" the server
 *  address (checked by the core), then the sign-in form with that address. */
export type WelcomeStep = { step: "choices" } | { step: "server" } | { step: "account"; server: string };

export function afterServerChecked(checked: string): WelcomeStep {
  return { step: "account", server: checked };
}

/** Back from a step: the account step returns to the address, the address to the choices. */
export function stepBack(current: WelcomeStep): WelcomeStep {
  return current.step === "account" ? { step: "server" } : { step: "choices" };
}
