// Version 2 of the JavaScript test guest's `js_greet`, changed the way a
// careless deploy would: it shouts before it greets. Replaying an instance
// of version 1 with it must fail at the first call that differs.

import { orchestration } from "reprise";
export { orchestrator, activities, actors } from "reprise";

orchestration("js_greet", (ctx, cities) => {
    const shouted = ctx.callActivity("js_shout", cities.join(" / "));
    const greetings = ctx.whenAll(cities.map((city) => ctx.scheduleActivity("say_hello", city)));
    return { greetings, shouted };
});
