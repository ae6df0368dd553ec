// The order example's JavaScript activities: pricing and the receipt. A
// Rust orchestration (examples/orders) calls `price_order`; a Python one
// (examples/python/shipping) calls `render_receipt`.
//
// Build with componentize-qjs (see guest-sdk/js/README.md):
//     node_modules/.bin/componentize-qjs --wit wit --world app --sync \
//         --module-root . --js examples/js/pricing/app.js -o pricing.wasm

import { Failure, activity } from "reprise";
export { orchestrator, activities, actors, actorReads } from "reprise";

// Coupons and what they take off, in percent.
const COUPONS = { WELCOME10: 10, TEAPARTY: 25 };

activity("price_order", ({ id, lines, coupon }) => {
    if (!Array.isArray(lines) || lines.length === 0) {
        throw new Failure(`order ${id} has no lines`);
    }
    const subtotal = lines.reduce((sum, { quantity, unit_cents }) => sum + quantity * unit_cents, 0);
    let percent = 0;
    if (coupon != null) {
        percent = COUPONS[coupon];
        if (percent === undefined) {
            throw new Failure(`unknown coupon ${JSON.stringify(coupon)}`, { coupon });
        }
    }
    const discount = Math.round((subtotal * percent) / 100);
    return { subtotal_cents: subtotal, discount_cents: discount, total_cents: subtotal - discount };
});

const euros = (cents) => `€${(cents / 100).toFixed(2)}`;

activity("render_receipt", ({ order_id, total_cents, tracking }) =>
    [`Order ${order_id}`, `Total ${euros(total_cents)}`, `Tracking ${tracking}`].join("\n"),
);
