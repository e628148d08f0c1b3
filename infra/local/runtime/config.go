package runtime

import (
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Defaults applied by NewPool to zero fields of FunctionConfig.
const (
	// DefaultTimeout is Lambda's default function timeout.
	DefaultTimeout = 3 * time.Second
	// DefaultInitTimeout is Lambda's limit on the init phase (exec to the
	// first /next) of an on-demand process.
	DefaultInitTimeout = 10 * time.Second
	// DefaultMaxProcesses bounds a pool whose config leaves MaxProcesses
	// zero: enough to show scaling on a laptop without exhausting it.
	DefaultMaxProcesses = 4
	// DefaultMemorySize is Lambda's default MemorySize in MB.
	DefaultMemorySize = 128
	// DefaultRegion is used when Env sets neither AWS_REGION nor
	// AWS_DEFAULT_REGION.
	DefaultRegion = "us-east-1"
	// DefaultAccountID is the account in the default function ARN.
	DefaultAccountID = "000000000000"
)

// Limits Lambda enforces on synchronous invocations.
const (
	// MaxRequestPayload is the largest event Invoke accepts (6 MB).
	MaxRequestPayload = 6 * 1024 * 1024
	// MaxResponsePayload is the largest response a function may return:
	// 6 MiB + 100 bytes (6,291,556), which is what Lambda enforces behind
	// the "6 MB" of https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
	// (its error names the figure: "Response payload size exceeded maximum
	// allowed payload size (6291556 bytes)", and AWS's runtime interface
	// emulator, github.com/aws/aws-lambda-runtime-interface-emulator,
	// interop.MaxPayloadSize, is 6*1024*1024 + 100). A larger one fails the
	// invocation with a function error of type Function.ResponseSizeTooLarge.
	MaxResponsePayload = 6*1024*1024 + 100
)

// FunctionConfig describes one function: its compiled binary and how Lambda
// would run it. Only Name and Binary are required; NewPool fills the other
// zero fields with the defaults above.
type FunctionConfig struct {
	// Name is the function name (AWS_LAMBDA_FUNCTION_NAME) and the prefix of
	// every output line, e.g. "[OrdersFunction#2] ".
	Name string
	// Binary is the path of the compiled function (the "bootstrap" of a
	// provided.al2023 function). Its directory is the process's working
	// directory and LAMBDA_TASK_ROOT.
	Binary string
	// Env is the function's environment. Nothing of the caller's own
	// environment is inherited, so the host's AWS credentials and profiles
	// never reach a function. Env may set AWS_REGION, AWS_DEFAULT_REGION,
	// TZ, PATH and credentials; the variables that describe the sandbox
	// (AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_*, _HANDLER,
	// LAMBDA_TASK_ROOT, AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_STREAM_NAME)
	// are always the pool's,
	// AWS_LAMBDA_MAX_CONCURRENCY is removed because a process here runs one
	// invocation at a time, and AWS_EXECUTION_ENV is removed because Lambda
	// reserves it and does not define it for the OS-only (provided.*)
	// runtimes these binaries are built for.
	Env map[string]string
	// Timeout is the function timeout, counted from the moment the
	// invocation is handed to the process.
	Timeout time.Duration
	// MaxProcesses bounds the number of processes (Lambda's concurrency).
	MaxProcesses int
	// ARN is the invoked function ARN; it defaults to
	// arn:aws:lambda:<region>:000000000000:function:<Name>.
	ARN string
	// Output receives the stdout and stderr of every process, line by line,
	// each line prefixed with "[<Name>#<n>] ", plus the pool's own notes
	// (timeouts, unexpected exits). Nil discards them. Lines from one pool
	// are written one Write call each, serialised; when several pools share
	// an Output it must be safe for concurrent use (os.Stdout and *Capture
	// are).
	Output io.Writer

	// MemorySize is reported to the function in
	// AWS_LAMBDA_FUNCTION_MEMORY_SIZE (MB); it is not enforced.
	MemorySize int
	// Handler is _HANDLER; it defaults to the binary's file name.
	Handler string
	// LogFormat, when set ("JSON" or "Text"), is AWS_LAMBDA_LOG_FORMAT.
	LogFormat string
	// InitTimeout bounds exec to the first /next of a process.
	InitTimeout time.Duration
}

// withDefaults returns cfg with its zero fields set.
func (cfg FunctionConfig) withDefaults() FunctionConfig {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.MaxProcesses <= 0 {
		cfg.MaxProcesses = DefaultMaxProcesses
	}
	if cfg.MemorySize <= 0 {
		cfg.MemorySize = DefaultMemorySize
	}
	if cfg.Handler == "" {
		cfg.Handler = filepath.Base(cfg.Binary)
	}
	if cfg.ARN == "" {
		cfg.ARN = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", cfg.region(), DefaultAccountID, cfg.Name)
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	return cfg
}

// region is the region the function runs in.
func (cfg FunctionConfig) region() string {
	if r := cfg.Env["AWS_REGION"]; r != "" {
		return r
	}
	if r := cfg.Env["AWS_DEFAULT_REGION"]; r != "" {
		return r
	}
	return DefaultRegion
}

// environ is the environment of one process, sorted for stable output.
// taskRoot is the binary's directory, runtimeAPI the host:port of the
// process's own Runtime API server, and logStream its log stream name.
func (cfg FunctionConfig) environ(taskRoot, runtimeAPI, logStream string) []string {
	env := map[string]string{
		// Defaults Env may override. Lambda always gives a function
		// credentials (from its role); without some, the AWS SDK would fall
		// back to probing EC2 instance metadata, which hangs off AWS.
		"PATH":                  "/usr/local/bin:/usr/bin:/bin",
		"LANG":                  "en_US.UTF-8",
		"TZ":                    ":UTC",
		"AWS_ACCESS_KEY_ID":     "local",
		"AWS_SECRET_ACCESS_KEY": "local",
		"AWS_SESSION_TOKEN":     "local",
	}
	maps.Copy(env, cfg.Env)
	region := cfg.region()
	if env["AWS_REGION"] == "" {
		env["AWS_REGION"] = region
	}
	if env["AWS_DEFAULT_REGION"] == "" {
		env["AWS_DEFAULT_REGION"] = region
	}
	if cfg.LogFormat != "" {
		env["AWS_LAMBDA_LOG_FORMAT"] = cfg.LogFormat
	}
	delete(env, "AWS_LAMBDA_MAX_CONCURRENCY")
	// AWS_EXECUTION_ENV is reserved (a function's configuration cannot set
	// it) and "not defined for OS-only runtimes (the provided family)":
	// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
	// (AWS's runtime interface emulator likewise sets it only for container
	// images, to AWS_Lambda_Image).
	delete(env, "AWS_EXECUTION_ENV")
	// The sandbox's own description, which a function cannot change.
	env["AWS_LAMBDA_RUNTIME_API"] = runtimeAPI
	env["AWS_LAMBDA_FUNCTION_NAME"] = cfg.Name
	env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(cfg.MemorySize)
	env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
	env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
	env["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + cfg.Name
	env["AWS_LAMBDA_LOG_STREAM_NAME"] = logStream
	env["_HANDLER"] = cfg.Handler
	env["LAMBDA_TASK_ROOT"] = taskRoot

	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
