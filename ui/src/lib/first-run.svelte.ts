// Whether the window shows the demo (the banner on every screen, the Sync
// screen's refusal), kept where every screen can read it. Set from the
// `first_run` command at start and after entering or leaving the demo.
import { firstRun } from "./api";
import type { FirstRun } from "./bindings";

export const demo = $state({ active: false });

/** Ask the store what it is; remember whether it is the demo. */
export async function readFirstRun(): Promise<FirstRun> {
  const state = await firstRun();
  demo.active = state.demo;
  return state;
}
