// Package dynamo is the giftcredit ledger on ONE DynamoDB table. It takes a
// *dynamodb.Client from its caller, so the same code runs against minidyn,
// DynamoDB Local or AWS.
//
// # Rules
//
// Every ledger mutation is at most one read — a consistent TransactGetItems
// of the idempotency record and the items the decision depends on — and
// exactly one write: a TransactWriteItems carrying the new transaction, the
// balance updates (conditioned on the version read, so no lost update, no
// double spend, no negative balance), the card status change, the other
// records and the idempotency record. A lost optimistic race (another writer
// changed a version) reads again and retries, a bounded number of times.
// Conditional failures are translated into domain errors from the
// cancellation reasons (typed SDK errors, never message text). No item is
// written by every transaction: system accounts (funding, sales, promotion
// expense) have no stored balance; their totals are derived from postings.
//
// # Items
//
//	record            PK                          SK        GSI1PK / GSI1SK                   GSI2PK / GSI2SK
//	shop              SHOP#<shop>                 SHOP      SHOPS / <shop>
//	API key           KEY#<sha256(secret)>        KEY       SHOP#<s>#KEYS / <keyId>
//	customer          SHOP#<s>#CUST#<id>          CUSTOMER  SHOP#<s>#CUSTOMERS#<n> / <id>
//	email lock        SHOP#<s>#EMAIL#<lower>      EMAIL
//	gift card         SHOP#<s>#CARD#<gc_hash>     CARD      SHOP#<s>#CARDS#<n> / <id>
//	order             SHOP#<s>#ORDER#<id>         ORDER     SHOP#<s>#ORDERS#<day>#<n> / <time>#<id>
//	transaction       SHOP#<s>#TX#<id>            TX        SHOP#<s>#TXS#<day>#<n> / <time>#<id>  SHOP#<s>#CUST#<c> / <time>#<id>
//	reversal marker   SHOP#<s>#TX#<id>            REVERSED
//	refunded total    SHOP#<s>#TX#<id>            REFUNDED  (refunded, version: all refunds of a spend)
//	hold              SHOP#<s>#HOLD#<id>          HOLD      SHOP#<s>#HOLDS#<n> / <time>#<id>  SHOP#<s>#HOLDS#OPEN#<n> / <expiresAt>#<id> (while held)
//	credit applied    SHOP#<s>#APPLY#<orderRef>   APPLY
//	idempotency       SHOP#<s>#IDEM#<key>         IDEM      (expiresAt TTL, 24 h)
//	outbox email      SHOP#<s>#MAIL#<id>          MAIL      SHOP#<s>#MAIL#PENDING#<m> / <next attempt>#<id>, then SHOP#<s>#MAIL#SENT#<m>
//	attempt counter   SHOP#<s>#LIMIT#<scope>      LIMIT     (expiresAt TTL; scope: customer, client or shop, and the window)
//	promotion         SHOP#<s>#PROMO#<p>          PROMO     SHOP#<s>#PROMOS / <p>
//	promotion run     SHOP#<s>#PROMO#<p>          RUN#<r>
//	run batch         SHOP#<s>#PROMO#<p>#RUN#<r>#BATCH#<seq, 8 digits>  BATCH  (its candidates, written once)
//	batch state       SHOP#<s>#PROMO#<p>#RUN#<r>#BATCH#<seq, 8 digits>  STATE  (pending, done)
//	batch lease shard SHOP#<s>#PROMO#<p>#RUN#<r>#BATCH#<seq>#LEASE#<k, 2 digits>  LEASE  (a promotion with a budget)
//	grant             SHOP#<s>#PROMO#<p>#GRANT#<order>[#<card>]  GRANT
//	grants of a cust. SHOP#<s>#PROMO#<p>#CUST#<c> GRANTS
//	waiting order     SHOP#<s>#PROMO#<p>#WAIT#<k> WAIT      SHOP#<s>#PROMO#<p>#WAITING / <time>#<k> (#RESOLVED once resolved)
//	credit lot        SHOP#<s>#CUST#<c>           LOT#<seq, 10 digits>  SHOP#<s>#LOTS#NOTICE#<n> / <expiresAt>#<lot> (until reminded)  SHOP#<s>#LOTS#EXPIRY#<n> / <expiresAt>#<lot> (until expired)
//	event (no tx)     SHOP#<s>#EVENT#<event id>   EVENT     (a disabled card's, a finished run's event; marked like a transaction)
//	webhook           SHOP#<s>#WEBHOOK#<w>        WEBHOOK   SHOP#<s>#WEBHOOKS / <time>#<w> (#DELETED once deleted)
//	delivery          SHOP#<s>#WEBHOOK#<w>#DLV#<event>  DELIVERY  SHOP#<s>#WEBHOOK#<w>#DLV#<n> / <time>#<event>  SHOP#<s>#WHPENDING#<n> / <next attempt>#<w>#<event> (then #WHDONE#<n>)
//
// Unpublished events: a transaction (or event item) whose events may not
// be on the bus yet carries GSI3PK / GSI3SK = SHOP#<s>#EVENTS#<n> /
// <change time + 1 min>#<id> (n of EventShards = 32, from the id); once
// the scheduled publisher has sent them, GSI3PK moves to
// SHOP#<s>#EVENTS#DONE#<n>. GSI3 projects keys only. events.go and
// webhooks.go describe them.
//
// The promotion item also carries its runs' bookkeeping (runId, runStatus,
// examinedUntil) and the budget left (budgetRemaining), less what running
// batches hold: a batch leases its share of the budget from the promotion
// item once, its grants spend the lease, and the unused lease goes back
// when the batch is done, so grants do not all write the promotion item. A
// batch's lease is spread over up to LeaseShards items (a partition each),
// so grants do not all write one lease item either.
// While a batch runs, budgetRemaining as the API shows it is lower by the
// batch's lease; after the run it is the budget less what was granted.
// grants.go and promorun.go describe the grant transaction, the leases and
// the runs.
//
// A gift card's id is "gc_" plus the first 128 bits of the keyed hash
// (HMAC-SHA256) of its code: the only stored form of a code. Amounts are
// DynamoDB numbers holding integer minor units.
//
// # Access patterns
//
//	pattern                          key condition                                   index
//	authenticate an API key          PK = KEY#<hash>, SK = KEY (GetItem)             table
//	list a shop's keys               GSI1PK = SHOP#<s>#KEYS                          GSI1
//	list shops (scheduled jobs)      GSI1PK = SHOPS                                  GSI1
//	customer with balances           PK = SHOP#<s>#CUST#<id>, SK = CUSTOMER          table
//	customer by email                PK = SHOP#<s>#EMAIL#<lower> then the customer   table
//	gift card by code or id          PK = SHOP#<s>#CARD#<id>, SK = CARD              table
//	order by id                      PK = SHOP#<s>#ORDER#<id>, SK = ORDER            table
//	orders by time (promotions)      GSI1PK = SHOP#<s>#ORDERS#<day>#<n>, every n, one    GSI1
//	                                   day at a time from the cursor's, GSI1SK between
//	                                   times, merged; several pages a read (read ahead)
//	promotions of a shop (scheduler) GSI1PK = SHOP#<s>#PROMOS                        GSI1
//	a promotion's runs, newest first PK = SHOP#<s>#PROMO#<p>, SK begins_with RUN#    table
//	a run's batch / pending batches  PK = ...#RUN#<r>#BATCH#<seq>, SK = BATCH and STATE  table
//	                                   (BatchGetItem; the STATE items of 1..n)
//	a batch's lease                  PK = ...#BATCH#<seq>#LEASE#<k>, every k (consistent) table
//	grant once, count per customer   PK = ...#GRANT#<k> / ...#CUST#<c> (conditions)  table
//	guest orders waiting (runs)      GSI1PK = SHOP#<s>#PROMO#<p>#WAITING, SK < from  GSI1
//	customer history, newest first   GSI2PK = SHOP#<s>#CUST#<id>, descending         GSI2
//	audit: every transaction         GSI1PK = SHOP#<s>#TXS#<day>#<n>, every day, n    GSI1
//	audit: every order               GSI1PK = SHOP#<s>#ORDERS#<day>#<n>, the days     GSI1
//	                                   that have a transaction, every n
//	audit: every customer / card     GSI1PK = SHOP#<s>#CUSTOMERS#<n> / #CARDS#<n>      GSI1
//	emails due for (re)sending       GSI1PK = SHOP#<s>#MAIL#PENDING#<m> of every shop, GSI1
//	                                   GSI1SK <= now, merged soonest first
//	idempotency record               PK = SHOP#<s>#IDEM#<key>, SK = IDEM             table
//	hold by id                       PK = SHOP#<s>#HOLD#<id>, SK = HOLD              table
//	change a hold (one read)         the hold and the customer or card its id names   table
//	refund a spend (one read)        PK = SHOP#<s>#TX#<id>, SK = TX, REFUNDED,       table
//	                                   REVERSED, and the account its id names
//	audit: every hold                GSI1PK = SHOP#<s>#HOLDS#<n>, every n             GSI1
//	open holds by expiry (release)   GSI2PK = SHOP#<s>#HOLDS#OPEN#<n>, GSI2SK <= now   GSI2
//	events to publish (publisher)    GSI3PK = SHOP#<s>#EVENTS#<n> of every shop, GSI3SK <= now, then the items by key  GSI3
//	a shop's webhooks (delivery)     GSI1PK = SHOP#<s>#WEBHOOKS                       GSI1
//	a webhook's deliveries           GSI1PK = SHOP#<s>#WEBHOOK#<w>#DLV#<n>, every n, merged  GSI1
//	deliveries due for a retry       GSI2PK = SHOP#<s>#WHPENDING#<n> of every shop, GSI2SK <= now  GSI2
//	a customer's live lots           the customer item (lots_<CUR>), then its LOT# items table
//	lots expired (expiry job)        GSI2PK = SHOP#<s>#LOTS#EXPIRY#<n>, GSI2SK <= now  GSI2
//	lots to remind (expiry job)      GSI1PK = SHOP#<s>#LOTS#NOTICE#<n>, GSI1SK <= now+days GSI1
//
// # Holds
//
// holds.go: a hold's account (hold:<id>) has its balance stored on the
// hold item (what is still held), like a customer's or a card's, so the
// audit proves it against the postings; the item's version orders every
// change of one hold, so a capture and a void race to exactly one winner.
// A hold's id names its funds, the customer or card (gc.WithFunds:
// hld_<26>_cus_<26> or hld_<26>_gc_<32 hex>), and so do the ids of a
// hold's transactions and of every spend (captures, credit applications,
// a customer's orders): a capture, void or release reads the hold and its
// funds, and a refund the spend, its REFUNDED and REVERSED items and the
// account it goes to, in the mutation's one consistent read, with nothing
// read first. The id's word is checked, never trusted: items are keyed by
// the whole id, and the planners refuse a hold or spend whose id names
// other funds than it records (404). A capture that is not final reads no
// funds at all. The funds keep "held" (customer: held_<CUR>) by
// unconditioned ADDs. A hold read past its expiresAt shows expired
// (gc.HoldAsOf) whether or not the release job has run.
//
// # Liability report
//
// close.go (issue 15): the daily close keeps, per shop, its state
// (SHOP#<s>#CLOSE / CLOSE: the last day closed and each currency's
// closings), per day and shard a checkpoint of a run cut short
// (SHOP#<s>#CLOSE#<day> / SHARD#<n>, TTL), and one item per currency and
// day (SHOP#<s>#LIAB#<cur> / DAY#<day>) written once, by the transaction
// that moves the state on. No mutation writes any of them: the close reads
// a day's TXS shards after the day and its grace have passed. The report
// reads the state, one Query of the currency's days (PK, SK BETWEEN) and
// the shards of the days not yet closed.
// # Lots
//
// lots.go. Every credit to a customer is a lot, and spending takes lots
// soonest-expiring first, never-expiring last, oldest first among equals,
// never one expired at the request's clock. A customer may have thousands
// of lots and a spend of the whole balance must still be one
// TransactWriteItems of at most 100 items after one read, so what spending
// needs of the lots lives on the customer item, beside the balance they
// make up: lots_<CUR> lists the live lots of a currency, each as
// "<seq>,<expires unix seconds or empty>,<remaining>", and lotSeq numbers
// them in the order they were made. The mutation's one consistent read of
// the customer gives the planner every lot with its exact expiry and what
// is left; the spend is the customer's usual update (conditioned on its
// version, so a racing spend or expiry reads again), whatever the number
// of lots; the transaction item records what it took from which lot
// ("lots", signed), so a refund, reversal or hold release gives each lot
// its own back, with its own expiry, and what came from a lot that has
// expired since goes to a new lot expiring 30 days later. A hold on credit
// keeps what it took on the hold item ("lots"): its captures spend it from
// the front (a capture's "lotsSpent", for its refunds), a release gives the
// rest back, so a non-final capture still reads no customer.
//
// Buckets of lots by expiry day with a spent counter each (spending
// without reading them) were considered and left: a spend of the whole
// balance would write one bucket per expiry day (past 100 items), a lot
// added to a partly spent bucket with an earlier expiry breaks the
// counter's order, the lots of today's bucket expire one by one, and a
// refund could not tell which lot of a bucket a counter took from.
// Keeping exact per-lot state on the one item read is provably right and
// costs the item's size: gc.MaxLots (5,000 live lots, about 40 bytes each
// at most) keeps the customer item and a spend's transaction under half
// of DynamoDB's 400 KB, and a write of a customer with n live lots costs
// about n/40 write units (a few for ordinary customers, whose lots are
// few: a lot that is spent leaves the list).
//
// A lot's own item (LOT#<seq> in the customer's partition) holds what
// never changes: id (lot_ plus the id of the transaction that made it),
// source, amount, expiry, creation time, for the listing, which pages the
// customer item's list and reads the page's lot items in one
// BatchGetItem. An expiring lot sits in two sparse index partitions
// sharded by lot id and sorted by expiry: GSI2 LOTS#EXPIRY until the
// expiry job is done with it, GSI1 LOTS#NOTICE until its reminder is
// decided. The job (schedule.CreditExpiry) reads the shards up to now
// (expiries) and up to now plus the shop's expiryNoticeDays (reminders);
// an expiry is one transaction per lot (customer debited, breakage
// credited) that puts the lot item back without its index keys,
// conditioned on the customer's version and on the lot still being in the
// index, so it happens once and never to what a spend took; a reminder
// writes the email to the outbox and takes the lot out of the notice
// index in one transaction, conditioned the same way.
//
// # Shards
//
// A partition takes about 1,000 write units a second, in the table and in
// each index alike, and an index that cannot keep up throttles the table.
// Table partition keys are per record (a customer, a card, an order), so
// only the index lists could be hot. Every list that grows with a shop's
// traffic is spread over shards (shards.go holds the counts, ListShards = 16,
// CustomerShards = 64, MailShards = 128 and LeaseShards = 16): transactions
// and orders by UTC day and shard, the customers, cards and mail by shard. An item's shard <n> is FNV-1a of its
// id modulo the count, so it is uniform and an update keeps the item in
// its partition. No index key is shared by all shops: pending mail is per
// shop too. Readers fan out, querying up to 8 partitions at once: the
// audit reads every transaction shard of every day of the shop's life, and
// the order shards of the days that have a transaction (an order is
// written with its transaction, at the same time: a day without one has no
// order); a promotion run reads the shards of one day at a time, from its
// cursor's day on, several pages at once (its steps are cut from what one
// read returned: ReadAhead in internal/promotion), and merges them by sort
// key (its cursor is the sort key of the last order of a step, opaque and
// stable); the sender merges the pending shards of every shop, soonest
// first. A reader of N partitions asks each for half as much again as its
// share of what it needs and keeps the first of the union, which is exact
// because the first k of a union are among the first k of each part; a
// round that falls short reads again from where it is exact (shards.go).
// Customer history reads one customer's GSI2 partition and is not sharded;
// keys, promotions and the list of shops are written rarely and stay one
// partition each.
//
// Promotion runs write per batch, not per grant, beside the grants' own
// records: a batch's candidates once (BATCH), its state (STATE: small, so
// leasing and completing a batch do not rewrite the candidates), the
// shards of its lease (each grant spends one: its own, or when that one
// cannot pay the first that can), and the run and promotion items (the
// step that cuts the batch, the lease taken and returned, the counts). The
// promotion's partition takes about 6 write units a batch, so batches of
// 100 orders (promotion.DefaultPageSize) keep it near 0.07 units a grant,
// a batch's partition takes about 50 units in all and a lease shard about
// one grant in LeaseShards; a run's hottest partitions are then the
// transaction list shards every grant writes (about 0.08 units a grant
// with ListShards = 16) and the customer list shards every grant's
// balance change rewrites (a run's customers can be few, hence
// CustomerShards = 64; infra/bench figure 8).
//
// Migration. The project is not live, so nothing reads the old keys. A
// table holding them would move in three steps: deploy readers that read
// both the old partition (SHOP#<s>#TXS, #ORDERS, #CUSTOMERS, #CARDS,
// MAIL#PENDING, #MAIL#SENT) and the new shards and merge them; backfill by
// rewriting each item's GSI1PK (a conditional UpdateItem per item, from a
// parallel Scan, idempotent because the new key is a function of the
// item's id and time); when a Scan finds no item left under an old key,
// deploy the readers without the old partitions. Writes use the new keys
// from the first step on, so the old partitions only shrink.
//
// # Guessing codes
//
// A wrong, used or disabled code counts a failure against the customer and
// against the end client (the clientRef the shop passes: a session or an
// IP); either past its limit is a 429 for that customer or client only. The
// shop-wide count never locks: a shop-wide lock would let anyone with a
// public balance-check page lock every honest customer out, while with
// 80-bit codes a shop-wide guessing attack cannot succeed (a million
// guesses against a million live cards hit with probability about 1e-12).
// Past ShopAlert failures in a window the shop's admin is emailed and a
// metric is logged instead. limits.go has the counters.
//
// Every key of a shop's record starts with SHOP#<shop>#, and the shop always
// comes from the caller's API key, so another shop's record cannot be named.
package dynamo
