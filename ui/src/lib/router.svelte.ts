// Which screen is showing. State-based (no URLs to type in a desktop app); every
// screen is reached through `go`. Back returns to the previous screen.

export type Route =
  | { screen: "today" }
  | { screen: "circles" }
  | { screen: "circle-new" }
  | { screen: "circle-edit"; circleId: string }
  | { screen: "circle"; circleId: string; tab?: CircleTab }
  | { screen: "attendance"; meetingId: string }
  | { screen: "guide"; meetingId: string; projector?: boolean }
  | { screen: "feedback"; meetingId: string }
  | { screen: "wrap-up"; circleId: string }
  | { screen: "courses" }
  | { screen: "reports" }
  | { screen: "teams" }
  | { screen: "sync" }
  | { screen: "settings" };

export type CircleTab = "meetings" | "learners" | "attendance" | "feedback" | "messages" | "report";

export const router = $state({ route: { screen: "today" } as Route, history: [] as Route[] });

export function go(route: Route) {
  router.history.push(router.route);
  if (router.history.length > 50) router.history.shift();
  router.route = route;
}

export function back() {
  const previous = router.history.pop();
  router.route = previous ?? { screen: "today" };
}
