// Command hello is figure 3's first cold-start baseline: the smallest
// aws-lambda-go function, built with the functions' flags.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (string, error) { return "hello", nil })
}
