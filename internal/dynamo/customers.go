package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
	"github.com/giftcredit/giftcredit/internal/money"
)

// Customer items keep each currency's balance in a top-level attribute
// "bal_<CUR>" and one version for the whole item, so that one read of the
// customer gives every balance, and every balance change is a conditional
// update on that version (optimistic concurrency).
const balancePrefix = "bal_"

func customerItem(shopID string, c gc.Customer, emailKey string) item {
	it := keyCustomer(shopID, c.ID).av()
	it["id"] = avS(c.ID)
	it["email"] = avS(c.Email)
	it["emailKey"] = avS(emailKey)
	it["name"] = avS(c.Name)
	it["createdAt"] = avS(fmtTime(c.CreatedAt))
	it["version"] = avN(0)
	it[attrGSI1PK] = avS(gsiCustomers(shopID))
	it[attrGSI1SK] = avS(c.ID)
	return it
}

// customerRecord is a customer as read, with the version its next update
// must be conditioned on.
type customerRecord struct {
	gc.Customer
	version int64
}

func decodeCustomer(it item) (customerRecord, error) {
	var r customerRecord
	var err error
	r.ID, r.Email, r.Name = it.s("id"), it.s("email"), it.s("name")
	if r.CreatedAt, err = it.t("createdAt"); err != nil {
		return r, err
	}
	if r.version, err = it.n("version"); err != nil {
		return r, err
	}
	r.Balances = []gc.Balance{}
	for k := range it {
		if cur, ok := strings.CutPrefix(k, balancePrefix); ok {
			amt, err := it.n(k)
			if err != nil {
				return r, err
			}
			r.Balances = append(r.Balances, gc.Balance{Currency: cur, Amount: amt})
		}
	}
	sort.Slice(r.Balances, func(i, j int) bool { return r.Balances[i].Currency < r.Balances[j].Currency })
	return r, nil
}

// moveBalance plans a change of delta to a customer's balance in cur: the
// update action (conditioned on the version read) and the posting, with the
// balance after. A result below zero is EINSUFFICIENTFUNDS.
func (s *Store) moveBalance(shopID string, c customerRecord, cur string, delta int64) (action, gc.Posting, error) {
	after, err := money.AddInt64(c.BalanceOf(cur), delta)
	if err != nil {
		return action{}, gc.Posting{}, gc.Invalid("amount", "the balance would overflow")
	}
	if after < 0 {
		return action{}, gc.Posting{}, gc.Errorf(gc.EINSUFFICIENTFUNDS, "the customer's %s credit is %s", cur, fmtMinor(c.BalanceOf(cur), cur))
	}
	v := c.version + 1
	act := s.update(keyCustomer(shopID, c.ID),
		"SET #bal = :bal, version = :next",
		"version = :v",
		map[string]string{"#bal": balancePrefix + cur},
		item{":bal": avN(after), ":next": avN(v), ":v": avN(c.version)},
		nil)
	p := gc.Posting{Account: gc.CustomerAccount(c.ID), Currency: cur, Amount: delta, BalanceAfter: &after, Version: v}
	return act, p, nil
}

func fmtMinor(amount int64, cur string) string {
	m, err := money.New(amount, cur)
	if err != nil {
		return fmt.Sprintf("%d %s", amount, cur)
	}
	return m.String()
}

// CreateCustomer creates a customer with a unique (case-insensitive) email.
func (s *Store) CreateCustomer(ctx context.Context, a gc.Actor, idemKey string, in gc.NewCustomer) (gc.Customer, error) {
	emailKey, err := in.Validate()
	if err != nil {
		return gc.Customer{}, err
	}
	c, err := mutate(ctx, s, mutation[gc.Customer]{
		actor: a, op: "create_customer", idemKey: idemKey, input: in,
		build: func([]item) (plan[gc.Customer], error) {
			id, err := s.ids.New("cus")
			if err != nil {
				return plan[gc.Customer]{}, err
			}
			c := gc.Customer{ID: id, Email: in.Email, Name: in.Name, CreatedAt: s.now().UTC(), Balances: []gc.Balance{}}
			lock := keyEmail(a.ShopID, emailKey).av()
			lock["customerId"] = avS(id)
			return plan[gc.Customer]{result: c, acts: []action{
				s.putNew(customerItem(a.ShopID, c, emailKey), nil),
				s.putNew(lock, errEmailTaken),
			}}, nil
		},
	})
	if errors.Is(err, errEmailTaken) {
		existing, ferr := s.CustomerByEmail(ctx, a.ShopID, in.Email)
		if ferr != nil {
			return gc.Customer{}, fmt.Errorf("create customer: find existing: %w", ferr)
		}
		return gc.Customer{}, &gc.Error{Code: gc.ECONFLICT, Message: "a customer with this email already exists", Field: "email", Detail: map[string]string{"customerId": existing.ID}}
	}
	return c, err
}

var errEmailTaken = gc.Errorf(gc.ECONFLICT, "a customer with this email already exists")

// Customer returns a customer with balances.
func (s *Store) Customer(ctx context.Context, shopID, customerID string) (gc.Customer, error) {
	r, err := s.customer(ctx, shopID, customerID)
	return r.Customer, err
}

func (s *Store) customer(ctx context.Context, shopID, customerID string) (customerRecord, error) {
	if !gc.ValidID("cus", customerID) {
		return customerRecord{}, errCustomerNotFound
	}
	it, err := s.getOne(ctx, keyCustomer(shopID, customerID))
	if err != nil {
		return customerRecord{}, fmt.Errorf("get customer: %w", err)
	}
	if it == nil {
		return customerRecord{}, errCustomerNotFound
	}
	return decodeCustomer(it)
}

var errCustomerNotFound = gc.Errorf(gc.ENOTFOUND, "customer not found")

// CustomerByEmail finds a customer by email, case-insensitively.
func (s *Store) CustomerByEmail(ctx context.Context, shopID, email string) (gc.Customer, error) {
	emailKey, err := gc.NormalizeEmail("email", email)
	if err != nil {
		return gc.Customer{}, err
	}
	lock, err := s.getOne(ctx, keyEmail(shopID, emailKey))
	if err != nil {
		return gc.Customer{}, fmt.Errorf("find customer by email: %w", err)
	}
	if lock == nil {
		return gc.Customer{}, errCustomerNotFound
	}
	return s.Customer(ctx, shopID, lock.s("customerId"))
}

// customerFrom decodes the customer read by a mutation, or ENOTFOUND.
func customerFrom(it item) (customerRecord, error) {
	if it == nil {
		return customerRecord{}, errCustomerNotFound
	}
	return decodeCustomer(it)
}
