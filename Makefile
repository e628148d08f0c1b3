# giftcredit — the front door. `make run` starts the local stack, `make test` runs every check CI runs.
SHELL := /bin/bash
GO ?= go
NPM ?= npm

# Lambda build settings (SAM's BuildMethod: makefile calls build-<LogicalId> with ARTIFACTS_DIR set).
LAMBDA_GOOS ?= linux
LAMBDA_GOARCH ?= arm64
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags="-s -w"
ARTIFACTS_DIR ?= $(CURDIR)/.aws-sam/manual/$*

# The directory under functions/ that each template.yaml function is built from.
DIR_AuthorizerFunction := authorizer
DIR_CustomersFunction := customers
DIR_OrdersFunction := orders
DIR_RedemptionFunction := redemption
DIR_CreditsFunction := credits
DIR_CreditApplicationsFunction := creditapplications
DIR_PromotionsFunction := promotions
DIR_EmailSenderFunction := emailsender
DIR_AuditFunction := audit
DIR_PromotionRunFunction := promotionrun
DIR_PromotionWorkerFunction := promotionworker
DIR_CheckoutFunction := checkout
DIR_HoldReleaseFunction := holdrelease
# Liability report (issue 15): the daily close and the report route.
DIR_DailyCloseFunction := dailyclose
DIR_ReportsFunction := reports
DIR_CreditExpiryFunction := creditexpiry
DIR_AdminFunction := admin
DIR_WebhooksFunction := webhooks
DIR_EventPublisherFunction := eventpublisher
DIR_WebhookDeliveryFunction := webhookdelivery

FUNCTIONS := $(patsubst DIR_%,%,$(filter DIR_%,$(.VARIABLES)))

.PHONY: run test lint build bench invoke node-deps cfn-lint

node-deps: infra/node_modules/.package-lock.json

infra/node_modules/.package-lock.json: infra/package.json infra/package-lock.json
	cd infra && $(NPM) ci --no-audit --no-fund

build-%:
	@test -n "$(DIR_$*)" || { echo "unknown function $*"; exit 1; }
	CGO_ENABLED=0 GOOS=$(LAMBDA_GOOS) GOARCH=$(LAMBDA_GOARCH) $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(DIR_$*)

build: $(addprefix build-,$(sort $(FUNCTIONS)))

lint:
	@out=$$(gofmt -s -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './infra/node_modules/*')); \
	  if [ -n "$$out" ]; then echo "gofmt -s would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff

cfn-lint:
	@if command -v cfn-lint >/dev/null 2>&1; then cfn-lint template.yaml; \
	else echo "cfn-lint not found: install it with 'pip install cfn-lint' (skipping template lint only)"; fi

test: node-deps lint cfn-lint
	$(GO) test -race -count=1 -timeout 30m ./...

# The local stack's command (infra/cmd/local) is built and then exec'd
# rather than `go run`, so that Ctrl-C and a SIGTERM sent to make reach it
# directly and it stops every process and port it started. It is built
# with the functions' flags so that a cold build cache compiles the AWS SDK
# once for both.
LOCAL_CMD := .local/bin/giftcredit-local
LOCAL_BUILD = CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $(LOCAL_CMD) ./infra/cmd/local
RUN_FLAGS ?=

run: node-deps
	@$(LOCAL_BUILD)
	@exec $(LOCAL_CMD) run $(RUN_FLAGS)

# `make bench` measures what a user and an operator pay for (infra/bench):
# it prints a table and writes infra/bench/results.json. It builds the
# functions itself with GOFLAGS_LAMBDA, exactly as `make build` does, for
# this machine (to run them) and for linux/arm64 (to weigh them). Figure 5
# runs the local stack, hence node-deps. BENCH_FLAGS passes more flags,
# e.g. BENCH_FLAGS=-figures=1,2 (see go run ./infra/bench/cmd/bench -h).
BENCH_CMD := .local/bin/giftcredit-bench
BENCH_FLAGS ?=

bench: node-deps
	@$(GO) build -o $(BENCH_CMD) ./infra/bench/cmd/bench
	@$(BENCH_CMD) -go "$(GO)" -build-dir .local/bench -build-flags '$(GOFLAGS_LAMBDA)' $(BENCH_FLAGS)

invoke: node-deps
	@test -n "$(FN)" || { echo "usage: make invoke FN=<LogicalId> EVENT=events/<file>.json"; exit 1; }
	@$(LOCAL_BUILD)
	@exec $(LOCAL_CMD) invoke -function "$(FN)" -event "$(EVENT)"
