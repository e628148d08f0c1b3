package stack

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/giftcredit/giftcredit/infra/samtemplate"
)

// EnvVars are environment overrides in the format of `sam local
// --env-vars`: "Parameters" applies to every function, a function's logical
// id to that function (and wins). As with SAM, only variables the template
// declares for a function are set; the others are ignored.
type EnvVars map[string]map[string]string

// LoadEnvVars reads an env.json file. A missing file is no overrides.
func LoadEnvVars(path string) (EnvVars, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("env vars: %w", err)
	}
	return ParseEnvVars(b)
}

// ParseEnvVars parses env.json text. Values may be JSON strings, numbers
// or booleans (written as they are spelled); anything else is an error.
func ParseEnvVars(b []byte) (EnvVars, error) {
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("env vars: want {\"Parameters\": {...}, \"<FunctionLogicalId>\": {...}}: %w", err)
	}
	out := make(EnvVars, len(raw))
	for fn, vars := range raw {
		out[fn] = make(map[string]string, len(vars))
		for k, v := range vars {
			var s any
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("env vars: %s.%s: %w", fn, k, err)
			}
			switch s := s.(type) {
			case string:
				out[fn][k] = s
			case float64, bool:
				out[fn][k] = string(v)
			default:
				return nil, fmt.Errorf("env vars: %s.%s: want a string, number or boolean", fn, k)
			}
		}
	}
	return out, nil
}

// override returns the value env.json gives a function's variable and the
// section it comes from ("Parameters" or the function's logical id).
func (e EnvVars) override(function, name string) (value, section string, ok bool) {
	if v, ok := e[function][name]; ok {
		return v, function, true
	}
	v, ok := e["Parameters"][name]
	return v, "Parameters", ok
}

// ignoredNote says that env.json's value for name was not used; it names
// the function only for a function's own section, so that one
// "Parameters" entry gives one note, not one per function.
func ignoredNote(section, name, why string) string {
	if section == "Parameters" {
		return fmt.Sprintf("%s from env.json ignored: %s", name, why)
	}
	return fmt.Sprintf("%s: %s from env.json ignored: %s", section, name, why)
}

// StackOwnedVariables are the variables the stack always sets itself when
// a function declares them, because they must point at the stack's own
// stand-ins: an env.json value for them is ignored (with a note).
// TABLE_NAME follows -table; DYNAMODB_ENDPOINT follows the environment
// variable of the same name given to the stack.
var StackOwnedVariables = []string{"TABLE_NAME", "DYNAMODB_ENDPOINT", "SES_ENDPOINT", "SQS_ENDPOINT",
	"EVENTS_ENDPOINT", "WEBHOOK_ALLOW_LOOPBACK_HTTP"}

// Locals are the local values the template's references resolve to.
type Locals struct {
	Region, AccountID, StackName string
	// Parameters are the parameter values (defaults already applied).
	Parameters map[string]string
	// TableLogicalID and TableName name the table.
	TableLogicalID, TableName string
	// Endpoints are the values of the stack-owned endpoint variables
	// (DYNAMODB_ENDPOINT, SES_ENDPOINT, SQS_ENDPOINT); a variable missing
	// here keeps the template's value.
	Endpoints map[string]string
	// Queues maps each queue's logical id to its local queue.
	Queues map[string]*Queue
	// Functions are the template's function logical ids.
	Functions []string
	// APIID is the logical id of the HTTP API.
	APIID string
	// Secrets maps a Secrets Manager secret name to its local value.
	Secrets map[string]string
	// EventBuses maps each event bus's logical id to its local name.
	EventBuses map[string]string
}

// lookup resolves the name of a !Ref, a !GetAtt "Resource.Attribute" or a
// ${...} of a !Sub.
func (l *Locals) lookup(name string) (string, bool) {
	switch name {
	case "AWS::Region":
		return l.Region, true
	case "AWS::AccountId":
		return l.AccountID, true
	case "AWS::Partition":
		return "aws", true
	case "AWS::URLSuffix":
		return "amazonaws.com", true
	case "AWS::StackName":
		return l.StackName, true
	case "AWS::StackId":
		return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/local", l.Region, l.AccountID, l.StackName), true
	}
	if v, ok := l.Parameters[name]; ok {
		return v, true
	}
	res, attr, _ := strings.Cut(name, ".")
	switch {
	case res == l.TableLogicalID && res != "":
		switch attr {
		case "":
			return l.TableName, true
		case "Arn":
			return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", l.Region, l.AccountID, l.TableName), true
		}
	case l.Queues[res] != nil:
		q := l.Queues[res]
		switch attr {
		case "", "QueueUrl":
			return q.URL, true
		case "Arn":
			return q.ARN, true
		case "QueueName":
			return q.LogicalID, true
		}
	case slices.Contains(l.Functions, res):
		switch attr {
		case "":
			return res, true
		case "Arn":
			return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", l.Region, l.AccountID, res), true
		}
	case res == l.APIID && res != "":
		if attr == "" {
			return "local", true
		}
	case l.EventBuses[res] != "":
		switch attr {
		case "", "Name":
			return l.EventBuses[res], true
		case "Arn":
			return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", l.Region, l.AccountID, l.EventBuses[res]), true
		}
	}
	return "", false
}

// dynamicRef matches a CloudFormation dynamic reference.
var dynamicRef = regexp.MustCompile(`\{\{resolve:([a-z-]+):([^}]*)\}\}`)

// resolveDynamic replaces {{resolve:secretsmanager:<name>...}} with the
// local secret for <name>; any other dynamic reference is an error.
func (l *Locals) resolveDynamic(s string) (string, error) {
	var err error
	out := dynamicRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := dynamicRef.FindStringSubmatch(ref)
		if m[1] != "secretsmanager" {
			err = fmt.Errorf("%s: only secretsmanager dynamic references are resolved locally", ref)
			return ref
		}
		name, _, _ := strings.Cut(m[2], ":")
		v, ok := l.Secrets[name]
		if !ok {
			err = fmt.Errorf("%s: no local value for secret %q", ref, name)
		}
		return v
	})
	return out, err
}

// FunctionEnv returns the environment of a function: the template's
// Globals and function variables with references resolved to local
// values, the stack-owned endpoints, and env.json overrides. notes say
// which overrides were ignored and why.
func FunctionEnv(fn *samtemplate.Function, l *Locals, overrides EnvVars) (env map[string]string, notes []string, err error) {
	env = make(map[string]string, len(fn.Environment))
	for _, name := range slices.Sorted(maps.Keys(fn.Environment)) {
		if ep, ok := l.Endpoints[name]; ok {
			env[name] = ep
			if _, section, ok := overrides.override(fn.LogicalID, name); ok {
				notes = append(notes, ignoredNote(section, name, "the stack points it at its own "+ep))
			}
			continue
		}
		if v, section, ok := overrides.override(fn.LogicalID, name); ok {
			if !slices.Contains(StackOwnedVariables, name) {
				env[name] = v
				continue
			}
			notes = append(notes, ignoredNote(section, name, "the stack sets it"))
		}
		v, err := fn.Environment[name].Resolve(l.lookup)
		if err == nil {
			v, err = l.resolveDynamic(v)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: environment variable %s: %w (set it in env.json to run locally)", fn.LogicalID, name, err)
		}
		env[name] = v
	}
	for name := range overrides[fn.LogicalID] {
		if _, ok := fn.Environment[name]; !ok {
			notes = append(notes, fmt.Sprintf("%s: %s from env.json ignored: the template does not declare it for this function", fn.LogicalID, name))
		}
	}
	return env, notes, nil
}

// ParameterValues returns every template parameter's value: given, else
// its default. A parameter with neither is an error only when something
// refers to it, so it is left out here.
func ParameterValues(t *samtemplate.Template, given map[string]string) map[string]string {
	out := map[string]string{}
	for name, p := range t.Parameters {
		if v, ok := given[name]; ok {
			out[name] = v
		} else if p.HasDefault {
			out[name] = p.Default
		}
	}
	return out
}

// SecretNames returns the names of the Secrets Manager secrets the
// template's function environments refer to with dynamic references,
// resolving ${Param} in them with params.
func SecretNames(t *samtemplate.Template, params map[string]string) []string {
	var names []string
	lookup := func(n string) (string, bool) { v, ok := params[n]; return v, ok }
	for _, fn := range t.Functions {
		for _, v := range fn.Environment {
			s, err := v.Resolve(lookup)
			if err != nil {
				// A reference to a resource: a dynamic reference never
				// contains one in this template's style.
				s = v.Sub + v.Literal
			}
			for _, m := range dynamicRef.FindAllStringSubmatch(s, -1) {
				if m[1] != "secretsmanager" {
					continue
				}
				name, _, _ := strings.Cut(m[2], ":")
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// NewDevSecret returns a random secret for local use: 32 bytes from
// crypto/rand, base64url-encoded.
func NewDevSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return base64.RawURLEncoding.EncodeToString(b)
}
