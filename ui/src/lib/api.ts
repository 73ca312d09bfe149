// The one place the UI talks to the Rust side. Every screen goes through here so that
// command names and error handling live once.
import { invoke } from "@tauri-apps/api/core";
import type { CircleSummary } from "./types";

/** Commands return `Result<T, String>`: the error is a sentence meant for a person. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
    this.name = "CommandError";
  }
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    const message = typeof e === "string" ? e : e instanceof Error ? e.message : JSON.stringify(e);
    throw new CommandError(command, message);
  }
}

/** The circles in the local store, as the core lists them. */
export function listCircles(): Promise<CircleSummary[]> {
  return call<CircleSummary[]>("list_circles");
}

/** The folder the app keeps its data in (shown to people when something goes wrong). */
export function dataDir(): Promise<string> {
  return call<string>("data_dir");
}
