"""The order example's shipping, in Python: books a courier with a Rust
activity (examples/orders) and renders the receipt with a JavaScript one
(examples/js/pricing). The Rust orchestration `place_order` runs it as a
sub-orchestration.

    componentize-py -d wit -w app componentize app \\
        -p examples/python/shipping -p guest-sdk/python -o shipping.wasm
"""

import reprise
from reprise import RetryPolicy
from reprise.exports import ActorReads, Actors, Activities, Orchestrator  # noqa: F401


@reprise.orchestration
def ship_order(ctx, shipping):
    tracking = ctx.call_activity(
        "book_courier",
        {"order_id": shipping["order_id"], "address": shipping["address"]},
        retry=RetryPolicy(max_attempts=3, first_retry=1.0),
    )
    ctx.log(f"order {shipping['order_id']} ships as {tracking}")
    receipt = ctx.call_activity(
        "render_receipt",
        {
            "order_id": shipping["order_id"],
            "total_cents": shipping["total_cents"],
            "tracking": tracking,
        },
    )
    return {"tracking": tracking, "receipt": receipt}
