// Command admin serves the admin console (GET /admin and its assets): a
// page shop staff use in a browser, which calls the v1 API itself with the
// admin key they type. It reads no table and holds no key.
package main

import (
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/giftcredit/giftcredit/internal/console"
	"github.com/giftcredit/giftcredit/internal/money"
)

func main() {
	site, err := console.New(money.Exponents())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(site.Handle)
}
