// One line to show for any failure: a core error in the interface language,
// else the error's own message.
import { CommandError } from "./api";
import { errorText } from "./errors";

type Translate = (key: string, params?: Record<string, string | number>) => string;

export function messageOf(e: unknown, t: Translate): string {
  if (e instanceof CommandError) return errorText(e.error, t);
  return e instanceof Error ? e.message : String(e);
}
