package dynamo_test

import (
	"strings"
	"testing"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Seed 000: staff sell themselves a gift card for the credit amount (paid
// Cash/Check/Other), redeem its code onto the customer, and the credit
// applies automatically to the customer's next purchase.
func TestSeed000GiftCardBecomesCredit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	placed, err := e.store.PlaceOrder(e.ctx, e.admin, "staff-order-1", gc.NewOrder{
		BillingName: "Shop Staff", BillingEmail: "staff@shop.test", PaymentMethod: "check", Currency: "USD",
		GiftCards: []gc.NewGiftCard{{Amount: 1000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	card := placed.Order.GiftCards[0]
	if len(card.Code) != 21 || !strings.HasSuffix(strings.ReplaceAll(card.Code[:19], "-", ""), card.Last4) {
		t.Fatalf("code %q / last4 %q not in display form", card.Code, card.Last4)
	}
	if placed.Order.AmountDue != 1000 || placed.Order.CreditApplied != 0 {
		t.Fatalf("order due %d applied %d, want 1000 and 0", placed.Order.AmountDue, placed.Order.CreditApplied)
	}
	if len(placed.Emails) != 2 {
		t.Fatalf("got %d emails, want buyer + admin", len(placed.Emails))
	}

	cust := MustCustomer(t, e, "Jo@Example.com")
	// Staff type the code with lower case and spaces.
	typed := strings.ToLower(strings.ReplaceAll(card.Code, "-", " "))
	red, err := e.store.Redeem(e.ctx, e.admin, "", cust.ID, typed, "")
	if err != nil {
		t.Fatal(err)
	}
	if red.Amount != 1000 || red.Balance != 1000 || red.Last4 != card.Last4 {
		t.Fatalf("redemption = %+v", red)
	}
	checked, err := e.store.CheckCard(e.ctx, e.shop.ID, card.Code, "")
	if err != nil {
		t.Fatal(err)
	}
	if checked.Status != gc.CardRedeemed || checked.Balance != 0 {
		t.Fatalf("card after redemption = %+v", checked)
	}

	// The next purchase: goods of 25.00, credit 10.00 applies by itself.
	next, err := e.store.PlaceOrder(e.ctx, e.admin, "", gc.NewOrder{
		CustomerID: cust.ID, BillingName: "Jo", BillingEmail: "jo@example.com", PaymentMethod: "card", Currency: "USD",
		Goods: []gc.OrderLine{{Description: "Tickets", UnitPrice: 1250, Quantity: 2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := next.Order.CreditApplied, int64(1000); got != want {
		t.Fatalf("credit applied = %d, want %d", got, want)
	}
	if got, want := next.Order.AmountDue, int64(1500); got != want {
		t.Fatalf("amount due = %d, want %d", got, want)
	}
	if got := MustBalance(t, e, cust.ID); got != 0 {
		t.Fatalf("balance after purchase = %d, want 0", got)
	}
	MustAudit(t, e)
}

// Seed 003: staff find (or create) the customer and credit the account with
// an amount and a reference, balanced by a custom payment type.
func TestSeed003DirectCreditToAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.store.CustomerByEmail(e.ctx, e.shop.ID, "sam@example.com"); gc.ErrorCode(err) != gc.ENOTFOUND {
		t.Fatalf("find unknown customer: %v", err)
	}
	cust := MustCustomer(t, e, "sam@example.com")
	found, err := e.store.CustomerByEmail(e.ctx, e.shop.ID, "SAM@example.com")
	if err != nil || found.ID != cust.ID {
		t.Fatalf("find by email = %v, %v", found.ID, err)
	}
	tx, err := e.store.Credit(e.ctx, e.admin, "refund-42", gc.DirectCredit{
		CustomerID: cust.ID, Amount: 2500, Currency: "USD", PaymentType: "refund-to-credit", Reference: "Cancelled show 12 May",
	})
	if err != nil {
		t.Fatal(err)
	}
	if tx.Postings[0].Account != "funding:refund-to-credit" || tx.Postings[0].Amount != -2500 {
		t.Fatalf("funding posting = %+v", tx.Postings[0])
	}
	page, err := e.store.History(e.ctx, e.shop.ID, cust.ID, gc.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Transactions) != 1 || page.Transactions[0].Reference != "Cancelled show 12 May" || page.Transactions[0].ID != tx.ID {
		t.Fatalf("history = %+v", page)
	}
	if got := MustBalance(t, e, cust.ID); got != 2500 {
		t.Fatalf("balance = %d, want 2500", got)
	}
	MustAudit(t, e)
}

func TestHistoryIsPaginatedNewestFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "pages@example.com")
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, MustCredit(t, e, cust.ID, int64(100+i)).ID)
	}
	var got []string
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		page, err := e.store.History(e.ctx, e.shop.ID, cust.ID, gc.PageRequest{Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range page.Transactions {
			got = append(got, tx.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(got) != 5 {
		t.Fatalf("got %d transactions over pages, want 5", len(got))
	}
	for i := range got {
		if got[i] != ids[len(ids)-1-i] {
			t.Fatalf("page order %v, want newest first of %v", got, ids)
		}
	}
	other := MustCustomer(t, e, "other@example.com")
	first, _ := e.store.History(e.ctx, e.shop.ID, cust.ID, gc.PageRequest{Limit: 1})
	_, err := e.store.History(e.ctx, e.shop.ID, other.ID, gc.PageRequest{Cursor: first.NextCursor})
	wantCode(t, err, gc.EINVALID)
}

func TestShopsCannotSeeEachOther(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "mine@example.com")
	card := MustGiftCard(t, e, 500)
	mine, err := e.store.PlaceOrder(e.ctx, e.admin, "", gc.NewOrder{BillingName: "A", BillingEmail: "a@example.com",
		PaymentMethod: "cash", Currency: "USD", Goods: []gc.OrderLine{{Description: "x", UnitPrice: 1, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	other := e.otherShop(t)
	_, err = e.store.Customer(e.ctx, other.ShopID, cust.ID)
	wantCode(t, err, gc.ENOTFOUND)
	_, err = e.store.CustomerByEmail(e.ctx, other.ShopID, "mine@example.com")
	wantCode(t, err, gc.ENOTFOUND)
	_, err = e.store.Order(e.ctx, other.ShopID, mine.Order.ID)
	wantCode(t, err, gc.ENOTFOUND)
	_, err = e.store.Credit(e.ctx, other, "", gc.DirectCredit{CustomerID: cust.ID, Amount: 1, Currency: "USD", PaymentType: "cash"})
	wantCode(t, err, gc.ENOTFOUND)
	_, err = e.store.DisableCard(e.ctx, other, "", card.ID)
	wantCode(t, err, gc.ENOTFOUND)
	// A code is bound to its shop: at another shop it is just a wrong code.
	otherCust, err := e.store.CreateCustomer(e.ctx, other, "", gc.NewCustomer{Email: "mine@example.com", Name: "Same email, other shop"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.store.Redeem(e.ctx, other, "", otherCust.ID, card.Code, "")
	wantCode(t, err, gc.ECONFLICT)
	MustAudit(t, e)
}

func TestWrongUsedAndDisabledCodesLookAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "c@example.com")
	used := MustGiftCard(t, e, 100)
	if _, err := e.store.Redeem(e.ctx, e.admin, "", cust.ID, used.Code, ""); err != nil {
		t.Fatal(err)
	}
	disabled := MustGiftCard(t, e, 100)
	if _, err := e.store.DisableCard(e.ctx, e.admin, "", disabled.ID); err != nil {
		t.Fatal(err)
	}
	// A well-formed code that was never issued: take a real one and change
	// a data symbol, then fix the check symbol by generating a fresh card's
	// code at another shop.
	other := e.otherShop(t)
	o, err := e.store.PlaceOrder(e.ctx, other, "", gc.NewOrder{BillingName: "B", BillingEmail: "b@example.com", PaymentMethod: "cash", Currency: "USD", GiftCards: []gc.NewGiftCard{{Amount: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	wrong := o.Order.GiftCards[0].Code
	var msgs []string
	for _, code := range []string{used.Code, disabled.Code, wrong} {
		_, err := e.store.Redeem(e.ctx, e.admin, "", cust.ID, code, "")
		wantCode(t, err, gc.ECONFLICT)
		msgs = append(msgs, gc.ErrorMessage(err))
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Fatalf("messages differ: %q", msgs)
	}
	// A typo is caught by the check symbol before any lookup.
	typo := []byte(wrong)
	if typo[0] == 'A' {
		typo[0] = 'B'
	} else {
		typo[0] = 'A'
	}
	_, err = e.store.Redeem(e.ctx, e.admin, "", cust.ID, string(typo), "")
	wantCode(t, err, gc.EINVALID)
	MustAudit(t, e)
}

func TestReversalCompensatesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "r@example.com")
	credit := MustCredit(t, e, cust.ID, 700)
	rev, err := e.store.Reverse(e.ctx, e.admin, "", gc.Reversal{CustomerID: cust.ID, TransactionID: credit.ID, Reason: "entered twice"})
	if err != nil {
		t.Fatal(err)
	}
	if rev.Reverses != credit.ID || MustBalance(t, e, cust.ID) != 0 {
		t.Fatalf("reversal %+v, balance %d", rev, MustBalance(t, e, cust.ID))
	}
	_, err = e.store.Reverse(e.ctx, e.admin, "", gc.Reversal{CustomerID: cust.ID, TransactionID: credit.ID, Reason: "again"})
	wantCode(t, err, gc.ECONFLICT)

	// A credit that was spent cannot be reversed into a negative balance.
	spent := MustCredit(t, e, cust.ID, 300)
	if _, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: cust.ID, OrderRef: "o-1", AmountDue: 1000, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.store.Reverse(e.ctx, e.admin, "", gc.Reversal{CustomerID: cust.ID, TransactionID: spent.ID, Reason: "oops"})
	wantCode(t, err, gc.EINSUFFICIENTFUNDS)
	MustAudit(t, e)
}

func TestCreditApplicationOncePerOrderRef(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "a@example.com")
	MustCredit(t, e, cust.ID, 1000)
	got, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: cust.ID, OrderRef: "web-1", AmountDue: 400, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Applied != 400 || got.AmountDue != 0 || got.Balance != 600 {
		t.Fatalf("applied = %+v", got)
	}
	_, err = e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: cust.ID, OrderRef: "web-1", AmountDue: 400, Currency: "USD"})
	wantCode(t, err, gc.ECONFLICT)
	more, err := e.store.ApplyCredit(e.ctx, e.admin, "", gc.CreditApplication{CustomerID: cust.ID, OrderRef: "web-2", AmountDue: 5000, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	if more.Applied != 600 || more.AmountDue != 4400 || more.Balance != 0 {
		t.Fatalf("second application = %+v", more)
	}
	MustAudit(t, e)
}

func TestCreateCustomerEmailIsUniqueCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := MustCustomer(t, e, "Dup@Example.com")
	_, err := e.store.CreateCustomer(e.ctx, e.admin, "", gc.NewCustomer{Email: "dup@example.COM", Name: "Again"})
	wantCode(t, err, gc.ECONFLICT)
	var de *gc.Error
	if !errorsAs(err, &de) || de.Detail["customerId"] != first.ID {
		t.Fatalf("conflict does not carry the existing id: %v", err)
	}
}

func TestCodeGuessingIsLockedOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cust := MustCustomer(t, e, "guesser@example.com")
	good := MustGiftCard(t, e, 100)
	used := MustGiftCard(t, e, 100)
	if _, err := e.store.Redeem(e.ctx, e.admin, "", MustCustomer(t, e, "first@example.com").ID, used.Code, ""); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		_, err := e.store.Redeem(e.ctx, e.admin, "", cust.ID, used.Code, "")
		wantCode(t, err, gc.ECONFLICT)
	}
	// Past the limit even a good code is refused, with a Retry-After.
	_, err := e.store.Redeem(e.ctx, e.admin, "", cust.ID, good.Code, "")
	wantCode(t, err, gc.ERATELIMITED)
	var de *gc.Error
	if !errorsAs(err, &de) || de.Detail["retryAfter"] == "" {
		t.Fatalf("no retryAfter in %v", err)
	}
	// Another customer of the shop is not locked out.
	if _, err := e.store.Redeem(e.ctx, e.admin, "", MustCustomer(t, e, "honest@example.com").ID, good.Code, ""); err != nil {
		t.Fatal(err)
	}
	MustAudit(t, e)
}

func TestAPIKeysAreHashedAndRevocable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secret1, k1, err := e.store.IssueAPIKey(e.ctx, e.shop.ID, gc.RoleShop)
	if err != nil {
		t.Fatal(err)
	}
	secret2, k2, err := e.store.IssueAPIKey(e.ctx, e.shop.ID, gc.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		secret string
		want   gc.APIKey
	}{{secret1, k1}, {secret2, k2}} {
		got, err := e.store.APIKeyBySecret(e.ctx, c.secret)
		if err != nil || got.ID != c.want.ID || got.ShopID != e.shop.ID || got.Role != c.want.Role {
			t.Fatalf("authenticate %s: %+v, %v", c.want.ID, got, err)
		}
	}
	if strings.Contains(e.snapshot(t), secret1) {
		t.Fatal("a key secret is stored in clear")
	}
	if err := e.store.RevokeAPIKey(e.ctx, e.shop.ID, k1.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.store.APIKeyBySecret(e.ctx, secret1)
	wantCode(t, err, gc.EUNAUTHORIZED)
	if _, err := e.store.APIKeyBySecret(e.ctx, secret2); err != nil {
		t.Fatalf("the other live key stopped working: %v", err)
	}
	_, err = e.store.APIKeyBySecret(e.ctx, "gck_unknown")
	wantCode(t, err, gc.EUNAUTHORIZED)
	other := e.otherShop(t)
	wantCode(t, e.store.RevokeAPIKey(e.ctx, other.ShopID, k2.ID), gc.ENOTFOUND)
}
