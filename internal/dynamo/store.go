package dynamo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/giftcredit/giftcredit/internal/giftcode"
	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Store is the giftcredit ledger on one DynamoDB table.
type Store struct {
	client  *dynamodb.Client
	table   string
	keyring *giftcode.Keyring
	now     func() time.Time
	rand    io.Reader
	ids     *gc.IDs
	codes   giftcode.Generator
	limits  Limits
	mail    gc.Composer
	logger  *slog.Logger
	// events receives a write's events right after it (events.go), unless
	// an inline publish failed less than eventPause ago.
	events            gc.EventPublisher
	eventPause        *time.Duration
	eventsPausedUntil atomic.Int64
	// maxAttempts bounds optimistic-concurrency retries of one mutation.
	maxAttempts int
	// closePaging is the daily close's paging (close.go).
	closePaging closePaging
}

var (
	_ gc.Ledger   = (*Store)(nil)
	_ gc.Checkout = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithRand replaces crypto/rand for ids and gift-card codes (tests).
func WithRand(r io.Reader) Option { return func(s *Store) { s.rand = r } }

// WithKeyring sets the keyring that hashes gift-card codes and seals what
// must be kept encrypted at rest. Operations on codes need it.
func WithKeyring(k *giftcode.Keyring) Option { return func(s *Store) { s.keyring = k } }

// WithComposer sets what composes the emails the store writes to the
// outbox (an order's, a promotion grant's notice, a guessing alert). A
// store without one fails those operations: only the functions that send
// mail wire it, so only they link the templates.
func WithComposer(c gc.Composer) Option { return func(s *Store) { s.mail = c } }

// noComposer is the composer of a store built without WithComposer.
type noComposer struct{}

var _ gc.Composer = noComposer{}

var errNoComposer = errors.New("the store has no composer (dynamo.WithComposer) and cannot compose emails")

func (noComposer) OrderEmails(gc.Shop, gc.Order) ([]gc.Email, error) { return nil, errNoComposer }
func (noComposer) AuditEmail(gc.Shop, gc.AuditReport) (gc.Email, error) {
	return gc.Email{}, errNoComposer
}
func (noComposer) PromotionSummaryEmail(gc.Shop, gc.Promotion, gc.PromotionRun) (gc.Email, error) {
	return gc.Email{}, errNoComposer
}
func (noComposer) PromotionCreditEmail(gc.Shop, gc.Promotion, gc.Customer) (gc.Email, error) {
	return gc.Email{}, errNoComposer
}
func (noComposer) GuessingAlertEmail(gc.Shop, time.Time, int64) (gc.Email, error) {
	return gc.Email{}, errNoComposer
}
func (noComposer) LotExpiryEmail(gc.Shop, gc.Customer, gc.Lot) (gc.Email, error) {
	return gc.Email{}, errNoComposer
}

// New returns a Store on table, using the caller's client (which carries the
// endpoint, credentials and retry policy: minidyn, DynamoDB Local or AWS).
func New(client *dynamodb.Client, table string, opts ...Option) *Store {
	s := &Store{client: client, table: table, now: time.Now, rand: rand.Reader, maxAttempts: 10, limits: DefaultLimits, mail: noComposer{}}
	for _, o := range opts {
		o(s)
	}
	s.ids = &gc.IDs{Now: s.now, Rand: s.rand}
	s.codes = giftcode.Generator{Rand: s.rand}
	return s
}

// idemTTL is how long an idempotency key is remembered.
const idemTTL = 24 * time.Hour

// errRetry says an optimistic write lost a race: read again and retry.
var errRetry = errors.New("optimistic concurrency conflict")

// errReplay says the idempotency record already exists.
var errReplay = errors.New("idempotency key already used")

// action is one write of a transaction and the error its failed condition
// means (nil: another writer changed the item, so read again and retry).
type action struct {
	w    types.TransactWriteItem
	fail error
	// events are the events of the change this write records (its item
	// carries the unpublished marker); published once the write succeeds.
	events []gc.Event
}

func (s *Store) put(it item, cond string, vals item, fail error) action {
	p := &types.Put{TableName: aws.String(s.table), Item: it}
	if cond != "" {
		p.ConditionExpression = aws.String(cond)
	}
	if len(vals) > 0 {
		p.ExpressionAttributeValues = vals
	}
	return action{w: types.TransactWriteItem{Put: p}, fail: fail}
}

func (s *Store) putNew(it item, fail error) action {
	return s.put(it, "attribute_not_exists(PK)", nil, fail)
}

func (s *Store) update(k key, expr, cond string, names map[string]string, vals item, fail error) action {
	u := &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       k.av(),
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeValues: vals,
	}
	if cond != "" {
		u.ConditionExpression = aws.String(cond)
	}
	if len(names) > 0 {
		u.ExpressionAttributeNames = names
	}
	return action{w: types.TransactWriteItem{Update: u}, fail: fail}
}

// transact runs actions as one TransactWriteItems and translates a
// cancellation into the failing action's error, using the SDK's typed
// errors and cancellation reason codes, never message text.
func (s *Store) transact(ctx context.Context, acts []action) error {
	items := make([]types.TransactWriteItem, len(acts))
	for i, a := range acts {
		items[i] = a.w
	}
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		var evs []gc.Event
		for _, a := range acts {
			evs = append(evs, a.events...)
		}
		s.publishInline(ctx, evs)
		return nil
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		// A used idempotency key wins over every other failed condition:
		// the request is a replay, whatever else has changed since.
		for i, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" && i < len(acts) && acts[i].fail == errReplay {
				return errReplay
			}
		}
		retry := false
		for i, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed":
				if i < len(acts) && acts[i].fail != nil {
					return acts[i].fail
				}
				retry = true
			case "TransactionConflict":
				retry = true
			}
		}
		if retry {
			return errRetry
		}
	}
	var tip *types.TransactionInProgressException
	if errors.As(err, &tip) {
		return errRetry
	}
	return fmt.Errorf("transact write items: %w", err)
}

// get reads keys in one consistent TransactGetItems; a missing item is nil.
func (s *Store) get(ctx context.Context, keys ...key) ([]item, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	gets := make([]types.TransactGetItem, len(keys))
	for i, k := range keys {
		gets[i] = types.TransactGetItem{Get: &types.Get{TableName: aws.String(s.table), Key: k.av()}}
	}
	out, err := s.client.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: gets})
	if err != nil {
		var tce *types.TransactionCanceledException
		if errors.As(err, &tce) {
			return nil, errRetry
		}
		return nil, fmt.Errorf("transact get items: %w", err)
	}
	items := make([]item, len(keys))
	for i := range keys {
		if i < len(out.Responses) && len(out.Responses[i].Item) > 0 {
			items[i] = out.Responses[i].Item
		}
	}
	return items, nil
}

// getOne reads one item with a consistent GetItem; missing is nil.
func (s *Store) getOne(ctx context.Context, k key) (item, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: k.av(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get item %s: %w", k.sk, err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// batchGet reads keys with consistent BatchGetItem requests of at most
// 100 keys, again for the keys DynamoDB leaves unprocessed, projecting
// attrs when given (names for its placeholders). fn sees each item read;
// returning false stops the reading.
func (s *Store) batchGet(ctx context.Context, keys []item, attrs string, names map[string]string, fn func(item) (bool, error)) error {
	for len(keys) > 0 {
		chunk := make([]map[string]types.AttributeValue, 0, min(len(keys), 100))
		for _, k := range keys[:min(len(keys), 100)] {
			chunk = append(chunk, k)
		}
		keys = keys[len(chunk):]
		for len(chunk) > 0 {
			ka := types.KeysAndAttributes{Keys: chunk, ConsistentRead: aws.Bool(true)}
			if attrs != "" {
				ka.ProjectionExpression, ka.ExpressionAttributeNames = aws.String(attrs), names
			}
			out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{s.table: ka}})
			if err != nil {
				return fmt.Errorf("batch get item: %w", err)
			}
			for _, it := range out.Responses[s.table] {
				if more, err := fn(it); err != nil || !more {
					return err
				}
			}
			chunk = out.UnprocessedKeys[s.table].Keys
		}
	}
	return nil
}

// plan is what one attempt of a mutation decided: the result to return and
// remember, and the writes that make it so.
type plan[T any] struct {
	result T
	acts   []action
	// sealed stores the remembered result encrypted (it holds gift-card codes).
	sealed bool
}

// mutation describes one ledger mutation.
type mutation[T any] struct {
	// actor is the caller: the shop scopes every key, and the API key is
	// the only one a remembered result is replayed to.
	actor   gc.Actor
	op      string
	idemKey string
	input   any
	// keys are read (with the idempotency record) in one request before planning.
	keys []key
	// build decides, from the items read (nil for missing), what to write.
	build func(items []item) (plan[T], error)
}

// mutate runs m: at most one read (the idempotency record and m.keys in one
// TransactGetItems) and one TransactWriteItems carrying every write and the
// idempotency record. A lost optimistic race reads again and retries.
func mutate[T any](ctx context.Context, s *Store, m mutation[T]) (T, error) {
	var zero T
	hash, err := requestHash(m.op, m.input)
	if err != nil {
		return zero, err
	}
	shopID := m.actor.ShopID
	keys := m.keys
	if m.idemKey != "" {
		if err := gc.ValidateText("Idempotency-Key", m.idemKey, true, 255); err != nil {
			return zero, err
		}
		keys = append([]key{keyIdem(shopID, m.idemKey)}, m.keys...)
	}
	for attempt := 1; ; attempt++ {
		items, err := s.get(ctx, keys...)
		if errors.Is(err, errRetry) && attempt < s.maxAttempts {
			s.backoff(ctx, attempt)
			continue
		} else if err != nil {
			return zero, fmt.Errorf("%s: read: %w", m.op, err)
		}
		if m.idemKey != "" {
			if rec := items[0]; rec != nil && !s.idemExpired(rec) {
				return replay[T](s, rec, m.actor.KeyID, hash)
			}
			items = items[1:]
		}
		if items == nil {
			items = make([]item, len(m.keys))
		}
		p, err := m.build(items)
		if err != nil {
			return zero, err
		}
		acts := p.acts
		if m.idemKey != "" {
			rec, err := s.idemRecord(m.actor, m.idemKey, m.op, hash, p.result, p.sealed)
			if err != nil {
				return zero, err
			}
			acts = append(acts, rec)
		}
		if len(acts) == 0 {
			return p.result, nil
		}
		err = s.transact(ctx, acts)
		switch {
		case err == nil:
			return p.result, nil
		case errors.Is(err, errReplay):
			rec, gerr := s.getOne(ctx, keyIdem(shopID, m.idemKey))
			if gerr != nil {
				return zero, fmt.Errorf("%s: read idempotency record: %w", m.op, gerr)
			}
			if rec == nil {
				// It expired between the write and this read: try again.
				continue
			}
			return replay[T](s, rec, m.actor.KeyID, hash)
		case errors.Is(err, errRetry):
			if attempt >= s.maxAttempts {
				return zero, gc.Errorf(gc.ECONFLICT, "the record changed concurrently too often; retry the request")
			}
			s.backoff(ctx, attempt)
		case gc.ErrorCode(err) != gc.EINTERNAL:
			return zero, err
		default:
			return zero, fmt.Errorf("%s: %w", m.op, err)
		}
	}
}

// backoff waits a little, with jitter, before retrying a lost race.
func (s *Store) backoff(ctx context.Context, attempt int) {
	d := time.Duration(1<<min(attempt, 6)) * time.Millisecond
	d += time.Duration(mrand.Int64N(int64(d) + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// requestHash fingerprints an operation's validated input.
func requestHash(op string, input any) (string, error) {
	b, err := json.Marshal(input)
	if err != nil {
		return "", fmt.Errorf("%s: hash request: %w", op, err)
	}
	h := sha256.Sum256(append([]byte(op+"\x00"), b...))
	return hex.EncodeToString(h[:]), nil
}

func (s *Store) idemRecord(a gc.Actor, idemKey, op, hash string, result any, sealed bool) (action, error) {
	b, err := json.Marshal(result)
	if err != nil {
		return action{}, fmt.Errorf("%s: encode result: %w", op, err)
	}
	now := s.now()
	it := keyIdem(a.ShopID, idemKey).av()
	it["op"] = avS(op)
	it["requestHash"] = avS(hash)
	it["keyId"] = avS(a.KeyID)
	it["createdAt"] = avS(fmtTime(now))
	it[attrTTL] = avN(now.Add(idemTTL).Unix())
	if sealed {
		if s.keyring == nil {
			return action{}, fmt.Errorf("%s: no keyring to seal the result", op)
		}
		sb, err := s.keyring.Seal(b)
		if err != nil {
			return action{}, fmt.Errorf("%s: seal result: %w", op, err)
		}
		it["sealed"] = avB(sb)
	} else {
		it["result"] = avS(string(b))
	}
	return s.put(it, "attribute_not_exists(PK) OR expiresAt < :now", item{":now": avN(now.Unix())}, errReplay), nil
}

func (s *Store) idemExpired(rec item) bool {
	exp, err := rec.n(attrTTL)
	return err == nil && exp < s.now().Unix()
}

// replay returns the remembered result of an idempotency record, or
// EIDEMPOTENCYMISMATCH when the key was used for another request or by
// another API key. A result is replayed only to the API key that made the
// first request: an order's result holds gift-card codes, and another key
// of the same shop that learnt the Idempotency-Key must not obtain them.
func replay[T any](s *Store, rec item, keyID, hash string) (T, error) {
	var out T
	if rec.s("keyId") != keyID {
		return out, gc.Errorf(gc.EIDEMPOTENCYMISMATCH, "the Idempotency-Key was already used by another API key")
	}
	if rec.s("requestHash") != hash {
		return out, gc.Errorf(gc.EIDEMPOTENCYMISMATCH, "the Idempotency-Key was already used with a different request")
	}
	b := []byte(rec.s("result"))
	if sb := rec.b("sealed"); sb != nil {
		if s.keyring == nil {
			return out, fmt.Errorf("replay: no keyring to open the sealed result")
		}
		var err error
		if b, err = s.keyring.Open(sb); err != nil {
			return out, fmt.Errorf("replay: open sealed result: %w", err)
		}
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("replay: decode result: %w", err)
	}
	return out, nil
}

func asErr[E error](err error, target *E) bool { return errors.As(err, target) }
