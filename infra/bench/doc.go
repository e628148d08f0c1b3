// Package bench measures what a user and an operator of giftcredit pay for,
// each figure as a ratio against a limit or a baseline measured side by side
// in the same run, so that the machine's own speed and noise cancel:
//
//  1. DynamoDB requests per ledger operation, counted by SDK middleware.
//  2. Handler overhead: each mutation through its API Gateway handler
//     against the bare TransactWriteItems it sends, replayed on fresh keys.
//  3. Cold start and binary size of every function against a hello-world
//     and a hello-world that builds the DynamoDB and SES clients at init.
//  4. Peak RSS of every function process over 1,000 invocations.
//  5. Concurrency: 32 clients mixing the API's hot paths, then an audit.
//  6. Promotion run throughput against raw parallel transactional writes.
//  7. Hot items: the most-written single item's share of figure 5's writes.
//  8. Partition write share: write units per partition key, table and
//     indexes, of figures 5 and 6, and the mutations/s they allow.
//
// The DynamoDB-compatible server (minidyn) copies its whole table on every
// transaction, so every figure has its own server and table and reports the
// table's size. Speeds are never asserted in tests: `make bench` (the
// program in cmd/bench) measures and writes results.json, and the
// Benchmark functions of this package give benchstat-friendly output.
package bench
