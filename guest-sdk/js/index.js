// Reprise's guest SDK for JavaScript: orchestrations, activities and actors
// as plain functions and classes, compiled to a WebAssembly component with
// componentize-qjs for the `app` world of `reprise:durable`.
//
// A call that waits simply blocks: the host suspends the guest and, after a
// crash or an eviction, replays it from its history to the same point.
//
//     import { orchestration } from "reprise";
//     export { orchestrator, activities, actors, actorReads } from "reprise";
//
//     orchestration("greet", (ctx, cities) =>
//         cities.map((city) => ctx.callActivity("say_hello", city)));
//
// See guest-sdk/js/README.md.

export { Failure, TaskFailed } from "./lib/failure.js";
export { orchestration, activity, actor } from "./lib/registry.js";
export { OrchestrationContext, Task } from "./lib/orchestration.js";
export { activityInfo } from "./lib/activity.js";
export { actorContext } from "./lib/actor.js";
export { orchestrator, activities, actors, actorReads } from "./lib/exports.js";
