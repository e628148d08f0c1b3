package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	gc "github.com/giftcredit/giftcredit/internal/giftcredit"
)

// Outbox records keep each email to send. The message (which may hold
// gift-card codes) is sealed with the keyring; only the recipient, status
// and schedule are in the clear. A pending record sits in the sparse GSI1
// shop's pending-mail shard sorted by its next attempt; marking it sent
// moves it to the shop's sent-mail shard.

// outboxGrace is how long a new email is left to the request that wrote it.
const outboxGrace = 2 * time.Minute

// outboxPut plans the write of a pending email.
func (s *Store) outboxPut(shopID string, e gc.Email, now time.Time) (action, error) {
	if s.keyring == nil {
		return action{}, fmt.Errorf("outbox: no keyring to seal the message")
	}
	b, err := json.Marshal(e)
	if err != nil {
		return action{}, fmt.Errorf("outbox: encode: %w", err)
	}
	sealed, err := s.keyring.Seal(b)
	if err != nil {
		return action{}, fmt.Errorf("outbox: seal: %w", err)
	}
	it := keyMail(shopID, e.ID).av()
	it["id"] = avS(e.ID)
	it["shopId"] = avS(shopID)
	it["to"] = avS(e.To)
	it["sealed"] = avB(sealed)
	it["status"] = avS("pending")
	it["attempts"] = avN(0)
	it["createdAt"] = avS(fmtTime(now))
	// The caller sends right after the write and marks the record sent; the
	// scheduled sender only picks it up after a grace period, so the two do
	// not both send it.
	it[attrGSI1PK] = avS(gsiPendingMail(shopID, e.ID))
	it[attrGSI1SK] = avS(fmtTime(now.Add(outboxGrace)) + "#" + e.ID)
	return s.putNew(it, nil), nil
}

var _ gc.MailQueue = (*Store)(nil)

// Enqueue writes one pending email to the outbox.
func (s *Store) Enqueue(ctx context.Context, shopID string, e gc.Email) (gc.Email, error) {
	id, err := s.ids.New("msg")
	if err != nil {
		return e, err
	}
	e.ID = id
	act, err := s.outboxPut(shopID, e, s.now())
	if err != nil {
		return e, err
	}
	if err := s.transact(ctx, []action{act}); err != nil {
		return e, fmt.Errorf("enqueue email: %w", err)
	}
	return e, nil
}

// DueEmails returns up to limit pending emails whose next attempt is due,
// soonest first, from every mail shard of every shop.
func (s *Store) DueEmails(ctx context.Context, now time.Time, limit int) ([]gc.PendingEmail, error) {
	shops, err := s.Shops(ctx)
	if err != nil {
		return nil, fmt.Errorf("due emails: %w", err)
	}
	var pks []string
	for _, sh := range shops {
		pks = append(pks, gsiAllPendingMail(sh.ID)...)
	}
	items, _, err := s.queryMerged(ctx, pks, "", fmtTime(now)+"#~", limit)
	if err != nil {
		return nil, fmt.Errorf("due emails: %w", err)
	}
	var due []gc.PendingEmail
	for _, it := range items {
		p, err := s.decodeMail(it)
		if err != nil {
			return due, err
		}
		due = append(due, p)
	}
	return due, nil
}

func (s *Store) decodeMail(it item) (gc.PendingEmail, error) {
	p := gc.PendingEmail{ShopID: it.s("shopId")}
	var err error
	if p.Attempts, err = it.n("attempts"); err != nil {
		return p, err
	}
	if s.keyring == nil {
		return p, fmt.Errorf("outbox: no keyring to open the message")
	}
	b, err := s.keyring.Open(it.b("sealed"))
	if err != nil {
		return p, fmt.Errorf("outbox %s: open: %w", it.s("id"), err)
	}
	if err := json.Unmarshal(b, &p.Email); err != nil {
		return p, fmt.Errorf("outbox %s: decode: %w", it.s("id"), err)
	}
	return p, nil
}

// MarkSent marks pending emails sent in one TransactWriteItems, each
// conditioned on still being pending, so two senders never both record one.
// It returns gc.ECONFLICT if any was no longer pending (none is marked then).
func (s *Store) MarkSent(ctx context.Context, shopID string, sent map[string]string) error {
	var acts []action
	now := fmtTime(s.now())
	for id, msgID := range sent {
		acts = append(acts, s.update(keyMail(shopID, id),
			// The record moves to the shop's sent-mail shard rather than
			// leaving GSI1 with REMOVE, which minidyn ignores.
			"SET #status = :sent, sentAt = :now, messageId = :mid, GSI1PK = :sentpk",
			"#status = :pending",
			map[string]string{"#status": "status"},
			item{":sent": avS("sent"), ":now": avS(now), ":mid": avS(msgID), ":pending": avS("pending"), ":sentpk": avS(gsiSentMail(shopID, id))},
			gc.Errorf(gc.ECONFLICT, "email %s is no longer pending", id)))
	}
	if len(acts) == 0 {
		return nil
	}
	if len(acts) == 1 {
		return s.updateOne(ctx, acts[0])
	}
	return s.transact(ctx, acts)
}

// Release makes pending emails that were never attempted by the scheduled
// sender (attempts = 0) due now. Each update is conditional, so an email
// sent or claimed meanwhile is left alone.
func (s *Store) Release(ctx context.Context, shopID string, ids []string) error {
	now := fmtTime(s.now())
	for _, id := range ids {
		err := s.updateOne(ctx, s.update(keyMail(shopID, id),
			"SET GSI1SK = :sk", "#status = :pending AND attempts = :zero",
			map[string]string{"#status": "status"},
			item{":sk": avS(now + "#" + id), ":pending": avS("pending"), ":zero": avN(0)},
			gc.Errorf(gc.ECONFLICT, "email %s was sent or claimed meanwhile", id)))
		if err != nil && gc.ErrorCode(err) != gc.ECONFLICT {
			return fmt.Errorf("release email %s: %w", id, err)
		}
	}
	return nil
}

// Claim reschedules a pending email before a send attempt, with a
// conditional write on its attempt count: of two senders that saw the same
// record, only one claims it, so only one sends it. The next attempt is
// pushed out with exponential backoff in case this one fails.
func (s *Store) Claim(ctx context.Context, p gc.PendingEmail, now time.Time) error {
	backoff := time.Minute << min(p.Attempts, 10)
	next := now.Add(backoff)
	return s.updateOne(ctx, s.update(keyMail(p.ShopID, p.Email.ID),
		"SET attempts = :next, GSI1SK = :sk, lastAttemptAt = :now",
		"#status = :pending AND attempts = :n",
		map[string]string{"#status": "status"},
		item{":next": avN(p.Attempts + 1), ":sk": avS(fmtTime(next) + "#" + p.Email.ID), ":now": avS(fmtTime(now)),
			":pending": avS("pending"), ":n": avN(p.Attempts)},
		gc.Errorf(gc.ECONFLICT, "email %s was claimed by another sender", p.Email.ID)))
}

// updateOne runs a single conditional update outside a transaction.
func (s *Store) updateOne(ctx context.Context, a action) error {
	u := a.w.Update
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
		ConditionExpression: u.ConditionExpression, ExpressionAttributeNames: u.ExpressionAttributeNames,
		ExpressionAttributeValues: u.ExpressionAttributeValues,
	})
	var ccf *types.ConditionalCheckFailedException
	if asErr(err, &ccf) && a.fail != nil {
		return a.fail
	}
	if err != nil {
		return fmt.Errorf("update item: %w", err)
	}
	return nil
}
