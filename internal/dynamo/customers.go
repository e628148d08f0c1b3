package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Customer items keep each currency's balance in a top-level attribute
// "bal_<CUR>" and one version for the whole item, so that one read of the
// customer gives every balance, and every balance change is a conditional
// update on that version (optimistic concurrency).
const balancePrefix = "bal_"

// heldPrefix names the attribute of what a customer's open holds reserve
// in a currency ("held_<CUR>"), beside the spendable "bal_<CUR>".
const heldPrefix = "held_"

func customerItem(shopID string, c gc.Customer, emailKey string) item {
	it := keyCustomer(shopID, c.ID).av()
	it["id"] = avS(c.ID)
	it["email"] = avS(c.Email)
	it["emailKey"] = avS(emailKey)
	it["name"] = avS(c.Name)
	it["createdAt"] = avS(fmtTime(c.CreatedAt))
	it["version"] = avN(0)
	it[attrGSI1PK] = avS(gsiCustomers(shopID, c.ID))
	it[attrGSI1SK] = avS(c.ID)
	return it
}

func decodeCustomer(it item) (gc.CustomerState, error) {
	var r gc.CustomerState
	var err error
	r.ID, r.Email, r.Name = it.s("id"), it.s("email"), it.s("name")
	if r.CreatedAt, err = it.t("createdAt"); err != nil {
		return r, err
	}
	if r.Version, err = it.n("version"); err != nil {
		return r, err
	}
	r.Balances = []gc.Balance{}
	held := map[string]int64{}
	for k := range it {
		if cur, ok := strings.CutPrefix(k, heldPrefix); ok {
			if held[cur], err = it.n(k); err != nil {
				return r, err
			}
		}
	}
	for k := range it {
		if cur, ok := strings.CutPrefix(k, balancePrefix); ok {
			amt, err := it.n(k)
			if err != nil {
				return r, err
			}
			r.Balances = append(r.Balances, gc.Balance{Currency: cur, Amount: amt, Held: held[cur]})
		}
	}
	sort.Slice(r.Balances, func(i, j int) bool { return r.Balances[i].Currency < r.Balances[j].Currency })
	return r, decodeCustomerLots(it, &r)
}

// balanceUpdate encodes a planned balance change: the new balance and
// the currency's lots (lots.go), conditioned on the version the planner
// read. balanceWrites adds the items of the lots it makes.
func (s *Store) balanceUpdate(shopID string, ch gc.BalanceChange) action {
	names := map[string]string{"#bal": balancePrefix + ch.Currency}
	vals := item{":bal": avN(ch.After), ":next": avN(ch.Version + 1), ":v": avN(ch.Version)}
	set := lotsSet(ch.Currency, ch.Lots, []string{"#bal = :bal", "version = :next"}, names, vals)
	return s.update(keyCustomer(shopID, ch.CustomerID), "SET "+strings.Join(set, ", "), "version = :v", names, vals, nil)
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
			c := gc.NewCustomerRecord(in, id, s.now())
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

// Customer returns a customer with balances as they are now: what can
// be spent (not a lot that has expired, even before the expiry job
// posted it) and the next expiry.
func (s *Store) Customer(ctx context.Context, shopID, customerID string) (gc.Customer, error) {
	r, err := s.customer(ctx, shopID, customerID)
	if err != nil {
		return gc.Customer{}, err
	}
	return r.View(s.now().UTC()), nil
}

func (s *Store) customer(ctx context.Context, shopID, customerID string) (gc.CustomerState, error) {
	if !gc.ValidID("cus", customerID) {
		return gc.CustomerState{}, gc.ErrCustomerNotFound
	}
	it, err := s.getOne(ctx, keyCustomer(shopID, customerID))
	if err != nil {
		return gc.CustomerState{}, fmt.Errorf("get customer: %w", err)
	}
	if it == nil {
		return gc.CustomerState{}, gc.ErrCustomerNotFound
	}
	return decodeCustomer(it)
}

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
		return gc.Customer{}, gc.ErrCustomerNotFound
	}
	return s.Customer(ctx, shopID, lock.s("customerId"))
}

// customerFrom decodes the customer read by a mutation, or ENOTFOUND.
func customerFrom(it item) (gc.CustomerState, error) {
	if it == nil {
		return gc.CustomerState{}, gc.ErrCustomerNotFound
	}
	return decodeCustomer(it)
}
