// Command shopadmin creates shops and issues and revokes their API keys,
// against the local stack or AWS: the table and endpoint come from
// TABLE_NAME and DYNAMODB_ENDPOINT (unset endpoint = AWS, with the usual AWS
// configuration). A new key is printed once and never stored in clear.
//
//	shopadmin create-shop -name "Corner Books" -admin-email admin@corner.test -sender shop@corner.test -currency USD
//	shopadmin issue-key -shop shp_… -role shop|admin
//	shopadmin revoke-key -shop shp_… -key key_…
//	shopadmin list-keys -shop shp_…
//	shopadmin set-tenders -shop shp_… -tenders voucher,invoice   (payment methods besides card a shop key may use; empty for none)
//	shopadmin report -shop shp_… -currency USD [-from 2026-01-01] [-to 2026-12-31] [-csv]   (the liability report; to defaults to today, from to to)
//	shopadmin set-expiry-notice -shop shp_… -days 7   (days before credit expires that its customer is reminded; 0 for never)
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/giftcredit/giftcredit/internal/awsenv"
	"github.com/giftcredit/giftcredit/internal/dynamo"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "shopadmin:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: shopadmin create-shop|issue-key|revoke-key|list-keys|set-tenders|set-expiry-notice|report [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	table := fs.String("table", os.Getenv("TABLE_NAME"), "DynamoDB table (TABLE_NAME)")
	endpoint := fs.String("endpoint", os.Getenv("DYNAMODB_ENDPOINT"), "DynamoDB endpoint; empty for AWS (DYNAMODB_ENDPOINT)")
	name := fs.String("name", "", "shop name")
	adminEmail := fs.String("admin-email", "", "shop admin's email")
	sender := fs.String("sender", "", "sender address of the shop's emails")
	currency := fs.String("currency", "USD", "default currency")
	shopID := fs.String("shop", "", "shop id")
	role := fs.String("role", "shop", "key role: shop or admin")
	keyID := fs.String("key", "", "key id")
	tenders := fs.String("tenders", "", "comma-separated payment methods besides card that shop keys may use (set-tenders)")
	from := fs.String("from", "", "first day of the report, YYYY-MM-DD (default: -to)")
	to := fs.String("to", time.Now().UTC().Format(gc.DayLayout), "last day of the report, YYYY-MM-DD")
	csv := fs.Bool("csv", false, "print the report's days as CSV (report)")
	days := fs.Int64("days", gc.DefaultNoticeDays, "days before credit expires that its customer is reminded, 0 for never (set-expiry-notice)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *table == "" {
		return fmt.Errorf("set -table or TABLE_NAME")
	}
	cfg, err := awsenv.Config(ctx)
	if err != nil {
		return err
	}
	store := dynamo.New(awsenv.DynamoDB(cfg, *endpoint), *table)
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	switch args[0] {
	case "create-shop":
		sh, err := store.CreateShop(ctx, gc.Shop{Name: *name, AdminEmail: *adminEmail, SenderAddress: *sender, DefaultCurrency: *currency})
		if err != nil {
			return err
		}
		return out.Encode(sh)
	case "issue-key":
		secret, k, err := store.IssueAPIKey(ctx, *shopID, gc.Role(*role))
		if err != nil {
			return err
		}
		return out.Encode(map[string]any{"key": secret, "id": k.ID, "shopId": k.ShopID, "role": k.Role,
			"note": "this key is shown once; store it now"})
	case "revoke-key":
		return store.RevokeAPIKey(ctx, *shopID, *keyID)
	case "list-keys":
		keys, err := store.APIKeys(ctx, *shopID)
		if err != nil {
			return err
		}
		return out.Encode(keys)
	case "set-tenders":
		var list []string
		if *tenders != "" {
			list = strings.Split(*tenders, ",")
		}
		sh, err := store.SetShopTenders(ctx, *shopID, list)
		if err != nil {
			return err
		}
		return out.Encode(sh)
	case "report":
		rg, err := gc.ParseReportRange(cmp.Or(*from, *to), *to, *currency, time.Now())
		if err != nil {
			return err
		}
		rep, days, err := store.Liability(ctx, *shopID, rg)
		if err != nil {
			return err
		}
		if *csv {
			_, err := fmt.Fprint(os.Stdout, gc.LiabilityCSV(days))
			return err
		}
		return out.Encode(rep)
	case "set-expiry-notice":
		sh, err := store.SetExpiryNoticeDays(ctx, *shopID, *days)
		if err != nil {
			return err
		}
		return out.Encode(sh)
	}
	return fmt.Errorf("unknown command %q", args[0])
}
