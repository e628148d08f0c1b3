// Package stack runs giftcredit's whole SAM template on this machine
// without Docker: `make run` and the end-to-end tests start it.
//
// Everything comes from template.yaml, read through infra/samtemplate:
//
//   - every function is built by its Makefile target (Build) and run as
//     its compiled binary behind the Lambda Runtime API, a process pool per
//     function (infra/local/runtime), with the environment of its Globals
//     and its own Environment, references resolved to local values
//     (FunctionEnv) and env.json overrides applied as `sam local --env-vars`
//     does;
//   - the table is created on minidyn (or on DYNAMODB_ENDPOINT) with its
//     keys and GSIs;
//   - SES is aws-ses-v2-local, started when a function declares
//     SES_ENDPOINT;
//   - the HTTP API serves the template's routes and authorizer
//     (infra/local/gateway);
//   - each Schedule event fires on its rate or cron, and at any time
//     through POST <control>/schedules/<RuleLogicalId>;
//   - each AWS::SQS::Queue is an in-memory Queue that functions send to
//     through the SQS API the control server speaks (SQS_ENDPOINT), and
//     each SQS event is an event source mapping that invokes its function
//     with batches, honouring ReportBatchItemFailures, the visibility
//     timeout and the RedrivePolicy.
//
// Everything binds 127.0.0.1 only, and Close stops every process and frees
// every port.
//
// What this does not emulate, beyond what infra/local/runtime and
// infra/local/gateway list: IAM (every function may call everything),
// Secrets Manager (a dynamic reference resolves to a random secret per
// start unless Config.Secrets or env.json gives one), TTL expiry, the
// EventBridge Scheduler time zones of ScheduleV2, cron's L, W and #
// (such a schedule fires only when asked), SQS FIFO ordering and
// deduplication, message retention, long polling and ReceiveMessage, and
// the SQS event source's batching window and scaling (a mapping runs up to
// MaxProcesses batches at once).
package stack
