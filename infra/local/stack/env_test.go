package stack_test

import (
	"strings"
	"testing"

	"github.com/giftcredit/giftcredit/infra/local/stack"
	"github.com/giftcredit/giftcredit/infra/samtemplate"
)

// TestTemplateResolvesLocally resolves every function environment of the
// real template.yaml the way make run does, with and without the example
// env.json.
func TestTemplateResolvesLocally(t *testing.T) {
	tpl, err := samtemplate.Load("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	example, err := stack.LoadEnvVars("../env.json.example")
	if err != nil {
		t.Fatalf("env.json.example: %v", err)
	}
	params := stack.ParameterValues(tpl, map[string]string{
		"SenderAddress": "no-reply@giftcredit.test", "AdminAddress": "ops@giftcredit.test", "SenderIdentityName": "giftcredit.test",
	})
	secretNames := stack.SecretNames(tpl, params)
	if len(secretNames) != 1 || secretNames[0] != "giftcredit/code-hash-secret" {
		t.Fatalf("secret names %v, want the code-hash secret", secretNames)
	}
	locals := &stack.Locals{
		Region: "us-east-1", AccountID: "000000000000", StackName: "local", Parameters: params,
		TableLogicalID: tpl.Table.LogicalID, TableName: "giftcredit",
		Endpoints: map[string]string{"DYNAMODB_ENDPOINT": "http://127.0.0.1:8000", "SES_ENDPOINT": "http://127.0.0.1:8005", "SQS_ENDPOINT": "http://127.0.0.1:3001"},
		Queues:    map[string]*stack.Queue{},
		APIID:     tpl.HttpApiLogicalID,
		Secrets:   map[string]string{"giftcredit/code-hash-secret": "per-start-secret"},
	}
	locals.EventBuses = map[string]string{}
	for _, b := range tpl.EventBuses {
		locals.EventBuses[b.LogicalID] = "giftcredit-local"
	}
	for _, q := range tpl.Queues {
		locals.Queues[q.LogicalID] = &stack.Queue{LogicalID: q.LogicalID, URL: "http://127.0.0.1:3001/000000000000/" + q.LogicalID}
	}
	for _, fn := range tpl.Functions {
		locals.Functions = append(locals.Functions, fn.LogicalID)
	}

	for _, tc := range []struct {
		name       string
		overrides  stack.EnvVars
		wantSecret string
	}{
		{"without env.json", nil, "per-start-secret"},
		{"with env.json.example", example, example["Parameters"]["CODE_HASH_SECRET"]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var notes []string
			for i := range tpl.Functions {
				fn := &tpl.Functions[i]
				env, n, err := stack.FunctionEnv(fn, locals, tc.overrides)
				if err != nil {
					t.Fatal(err)
				}
				notes = append(notes, n...)
				for name, want := range map[string]string{"TABLE_NAME": "giftcredit", "DYNAMODB_ENDPOINT": "http://127.0.0.1:8000"} {
					if env[name] != want {
						t.Errorf("%s: %s = %q, want %q", fn.LogicalID, name, env[name], want)
					}
				}
				if _, ok := fn.Environment["CODE_HASH_SECRET"]; ok && env["CODE_HASH_SECRET"] != tc.wantSecret {
					t.Errorf("%s: CODE_HASH_SECRET = %q, want %q", fn.LogicalID, env["CODE_HASH_SECRET"], tc.wantSecret)
				}
				if _, ok := fn.Environment["SES_ENDPOINT"]; ok && env["SES_ENDPOINT"] != "http://127.0.0.1:8005" {
					t.Errorf("%s: SES_ENDPOINT = %q", fn.LogicalID, env["SES_ENDPOINT"])
				}
				for name, v := range env {
					if strings.Contains(v, "{{resolve:") {
						t.Errorf("%s: %s keeps a dynamic reference: %s", fn.LogicalID, name, v)
					}
				}
			}
			if tc.overrides != nil {
				joined := strings.Join(notes, "\n")
				for _, want := range []string{"DYNAMODB_ENDPOINT from env.json ignored", "TABLE_NAME from env.json ignored"} {
					if !strings.Contains(joined, want) {
						t.Errorf("no note %q in:\n%s", want, joined)
					}
				}
			}
		})
	}
}
