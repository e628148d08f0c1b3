// Package promotion runs promotions: it finds the orders that earn a
// promotion's credit, cuts them into batches, grants each batch's credit
// exactly once, resumes whatever a killed invocation left, fans out to a
// queue when a run is too big for one invocation, and queues the run's
// summary for the shop's admin. It holds the orchestration only; the rule
// (what qualifies) is giftcredit.Promotion's, and every write is one of
// giftcredit.PromotionRuns' conditional ones. It imports nothing of AWS: the
// scheduled and queue handlers in package schedule call Tick and Handle.
//
// # A run
//
// A promotion's item records examinedUntil: every order placed before it
// has been examined by a finished run. The scheduler (Tick, e.g. hourly)
// starts at most one run per promotion, over the orders placed in
// [examinedUntil, until) with until = min(EndsAt, now - SettleLag) (the
// first run starts at StartsAt), read in time order from the orders-by-time
// index, never by scanning the table. SettleLag (a minute) leaves orders
// being written right now to the next run, so the index is settled for the
// window a run reads. A run then re-examines the guest orders that earlier
// runs left waiting (see below). Each page of PageSize orders is one step:
// the page's candidates become the run's next numbered batch, written
// together with the run's new cursor and counts in one conditional
// transaction, so a step is saved entirely or not at all, and two
// invocations driving one run never both advance it. The orders index is
// read ahead: one read fetches ReadAhead pages (at most as many as the
// invocation may still scan) and the steps are cut from it in order, each
// saving the cursor after its own last order, so the index's shards are
// queried once for several steps and a killed invocation resumes at the
// first page it had not saved, as before; the batches are the same.
//
// Each batch is processed once it is written: in the same invocation
// (inline) while the invocation's InlineGrants allowance lasts, else sent as
// a message to the queue, whose worker calls Handle. Processing grants each
// candidate in its own transaction (see giftcredit.PromotionRuns.Grant),
// then marks the batch done and adds its counts to the run in one
// conditional transaction. The invocation that sees the last batch done
// finishes the run: the run is marked done, the watermark moves to the run's
// until and the summary is queued in the outbox, in one transaction. A run
// that examined no new order and granted nothing sends no summary; a
// promotion with nothing that could change (no new order, no waiting guest
// who has become a customer) starts no run.
//
// # Exactly once, resumable
//
// A grant record keyed by (promotion, order[, card]) is written with the
// grant, only if absent, so no order is granted twice whatever happens.
// A grant found already written by the same run counts as granted again,
// so a batch processed twice (SQS redelivery, a re-dispatch, two workers)
// reports the same counts, and the batch's counts are added to the run once
// (the batch's done flag is the condition). A killed invocation leaves at
// most: a step not saved (its page is read again), a batch saved but not
// handed out (the run's dispatched count says which: the next invocation
// hands it out), a batch partly granted (processed again: the grants made
// count the same), a batch done but the run not finished (the next
// invocation finishes it). Batches handed to the queue but never done (a
// message in the dead-letter queue, a paused promotion) are handed out
// again by the scheduler once the run has not moved for RedispatchAfter.
// Runs of one promotion never overlap, and the order of the candidates is
// the order of the index, so a resumed run ends with the same grants,
// ledger and counts as one that was never interrupted.
//
// # Guest orders
//
// An order without a customer is matched, when it is granted, to the
// customer whose email is its billing email (case-insensitive). If there is
// none, the order is skipped as no_customer and put on the promotion's
// waiting list. Every later run tries the waiting candidates again, and a
// tick starts a run for the waiting list alone as soon as one of their
// billing emails belongs to a customer, until FollowUp (30 days) after the
// promotion ends: a guest who becomes a customer gets the credit on the
// next run. Redeeming a card does not attach the order to the redeemer:
// the billing email is the only match (a gift card is often redeemed by
// its recipient, not its buyer).
//
// # Scale
//
// A batch is PageSize (100) orders: everything a run writes per batch
// rather than per grant (the step, the lease taken and returned, the
// counts: about 6 write units on the promotion's partition) is then about
// 0.06 write units a grant, well inside what one partition takes at 10,000
// grants a second.
//
// One scheduler invocation scans at most ScanSteps pages of a run when a
// queue is configured; it then hands the scan itself to the queue (a scan
// message), so a run of any size proceeds from invocation to invocation
// without waiting for the next tick, and the batches are granted by as many
// parallel workers as the queue's consumer allows.
//
// # Budgets
//
// A promotion with a budget is not written by every grant (one item takes
// only so many writes a second): before its first grant a batch leases
// BatchLease of the budget (at most what its candidates could earn,
// bounded by what is left) in one conditional write, once per batch
// however often it is processed, spread over lease shards (SplitLease: the
// credit of each candidate the lease covers, in time order, goes to the
// candidate's shard, so no one item takes every grant of the batch); each
// grant then spends a shard, its own or, if that one cannot pay, the first
// that can, as a condition of the grant's transaction, and CompleteBatch
// returns what is left of every shard in the transaction that marks the
// batch done. So the budget is
// never over-granted and none of it is lost; while batches run, the
// promotion's budgetRemaining is lower by what they hold. A grant whose
// lease cannot pay is paid from what is left unleased, if anything; only
// when neither can is it skipped as budget_exhausted. A run whose batches
// are processed one after the other grants exactly what it would if every
// grant spent the promotion's budget directly (first come, first served:
// the shards of a batch together pay exactly what one lease would, since
// a grant whose own shard is empty takes another's). Under parallel workers a
// candidate can be skipped while another batch holds budget it will return
// unused (a lease is an upper bound: candidates are also skipped for other
// reasons), so such a run may grant less than the budget allowed, never
// more. A batch left pending (a paused promotion, a dead letter) holds its
// lease until it is processed again and done.
package promotion
