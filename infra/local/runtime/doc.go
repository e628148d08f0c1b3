// Package runtime runs compiled Lambda function binaries on this machine
// behind an implementation of the Lambda Runtime API, so that a function's own
// main.go (lambda.Start from aws-lambda-go) runs unchanged, exactly as it does
// on AWS, without Docker.
//
// A Pool serves one function. Each process of the pool is the function binary
// exec'd with AWS_LAMBDA_RUNTIME_API pointing at a loopback HTTP server that
// belongs to that process alone, so a request on that server can only come
// from that process and needs no other identification. (The variable is
// documented as host:port; a per-process path prefix would only work by the
// accident of how aws-lambda-go concatenates URLs.) A process handles one
// invocation at a time, as on Lambda: an invocation goes to a process blocked
// in /next, otherwise a new process is started (a cold start) while fewer
// than MaxProcesses exist, otherwise it waits in a queue. A process that
// misses its deadline is killed with its process group and replaced on
// demand.
//
// What this does not emulate: the Extensions and Telemetry APIs (so
// lambda.WithEnableSIGTERM only logs a warning), response streaming,
// asynchronous invocation with retries and destinations, provisioned
// concurrency and SnapStart, memory limits (MemorySize is only reported to
// the function), the read-only file system and /tmp quota, the freezing of
// idle processes between invocations, sandbox recycling after hours, IAM
// (the function gets fixed dummy credentials unless Env sets others), and
// X-Ray (trace ids are generated but sent nowhere).
package runtime
