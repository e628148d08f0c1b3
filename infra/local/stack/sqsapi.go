package stack

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Limits of SQS that the local API enforces.
const (
	maxSQSRequest   = 2 << 20
	maxSQSMessage   = 256 << 10
	maxSQSBatch     = 10
	maxSQSDelaySecs = 900
)

// sqsAPI serves the part of Amazon SQS's JSON protocol (X-Amz-Target
// AmazonSQS.<Action>, what aws-sdk-go-v2 speaks) that functions use to feed
// a queue: SendMessage, SendMessageBatch, GetQueueUrl and
// GetQueueAttributes. Receiving is the event source mappings' job, so
// ReceiveMessage and DeleteMessage are not served.
type sqsAPI struct {
	queues map[string]*Queue // by queue name
}

// sqsAttribute is a message attribute in SQS's JSON protocol.
type sqsAttribute struct {
	DataType    string
	StringValue *string `json:",omitempty"`
	BinaryValue []byte  `json:",omitempty"` // base64 in JSON, as the protocol has it
}

type sqsSendEntry struct {
	Id                string
	MessageBody       string
	DelaySeconds      int
	MessageAttributes map[string]sqsAttribute
}

func (api *sqsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if !ok {
		sqsError(w, http.StatusBadRequest, "InvalidAction", "want an X-Amz-Target: AmazonSQS.<Action> header (SQS JSON protocol)")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSQSRequest+1))
	if err != nil || len(body) > maxSQSRequest {
		sqsError(w, http.StatusBadRequest, "InvalidParameterValue", "the request could not be read or is too large")
		return
	}
	var out any
	switch action {
	case "SendMessage":
		out, err = api.sendMessage(body)
	case "SendMessageBatch":
		out, err = api.sendMessageBatch(body)
	case "GetQueueUrl":
		out, err = api.getQueueURL(body)
	case "GetQueueAttributes":
		out, err = api.getQueueAttributes(body)
	default:
		sqsError(w, http.StatusBadRequest, "UnsupportedOperation",
			action+" is not served by the local stack: it serves SendMessage, SendMessageBatch, GetQueueUrl and GetQueueAttributes, and delivers messages through the template's SQS event source mappings")
		return
	}
	if err != nil {
		var e *sqsErr
		if errors.As(err, &e) {
			sqsError(w, http.StatusBadRequest, e.code, e.msg)
			return
		}
		sqsError(w, http.StatusBadRequest, "InvalidParameterValue", err.Error())
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		sqsError(w, http.StatusInternalServerError, "InternalError", "encode response")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_, _ = w.Write(b)
}

// sqsErr is an SQS error answer.
type sqsErr struct{ code, msg string }

func (e *sqsErr) Error() string { return e.code + ": " + e.msg }

func sqsError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.sqs#" + code, "message": msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// queue finds the queue a QueueUrl names: the last path segment is the
// queue name, whatever the host.
func (api *sqsAPI) queue(queueURL string) (*Queue, error) {
	if queueURL == "" {
		return nil, &sqsErr{"MissingParameter", "QueueUrl is required"}
	}
	q, ok := api.queues[path.Base(queueURL)]
	if !ok {
		return nil, &sqsErr{"QueueDoesNotExist", fmt.Sprintf("no queue %q in the local stack", queueURL)}
	}
	return q, nil
}

func (api *sqsAPI) sendMessage(body []byte) (any, error) {
	var in struct {
		QueueUrl string
		sqsSendEntry
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &sqsErr{"InvalidParameterValue", "the request is not valid JSON: " + err.Error()}
	}
	q, err := api.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	res, err := send(q, in.sqsSendEntry)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (api *sqsAPI) sendMessageBatch(body []byte) (any, error) {
	var in struct {
		QueueUrl string
		Entries  []sqsSendEntry
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &sqsErr{"InvalidParameterValue", "the request is not valid JSON: " + err.Error()}
	}
	q, err := api.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	switch {
	case len(in.Entries) == 0:
		return nil, &sqsErr{"EmptyBatchRequest", "Entries is empty"}
	case len(in.Entries) > maxSQSBatch:
		return nil, &sqsErr{"TooManyEntriesInBatchRequest", fmt.Sprintf("at most %d entries", maxSQSBatch)}
	}
	seen := map[string]bool{}
	for _, e := range in.Entries {
		if seen[e.Id] {
			return nil, &sqsErr{"BatchEntryIdsNotDistinct", "entry id " + e.Id + " repeats"}
		}
		seen[e.Id] = true
	}
	type failed struct {
		Id, Code, Message string
		SenderFault       bool
	}
	out := struct {
		Successful []sendResult
		Failed     []failed
	}{Successful: []sendResult{}, Failed: []failed{}}
	for _, e := range in.Entries {
		res, err := send(q, e)
		if err != nil {
			code, msg := "InvalidParameterValue", err.Error()
			var se *sqsErr
			if errors.As(err, &se) {
				code, msg = se.code, se.msg
			}
			out.Failed = append(out.Failed, failed{Id: e.Id, Code: code, Message: msg, SenderFault: true})
			continue
		}
		res.Id = e.Id
		out.Successful = append(out.Successful, res)
	}
	return out, nil
}

// sendResult is SendMessage's answer and a SendMessageBatch result entry.
type sendResult struct {
	Id                     string `json:",omitempty"`
	MessageId              string
	MD5OfMessageBody       string
	MD5OfMessageAttributes string `json:",omitempty"`
}

func send(q *Queue, e sqsSendEntry) (sendResult, error) {
	switch {
	case e.MessageBody == "":
		return sendResult{}, &sqsErr{"MissingParameter", "MessageBody is required"}
	case len(e.MessageBody) > maxSQSMessage:
		return sendResult{}, &sqsErr{"InvalidParameterValue", fmt.Sprintf("MessageBody is longer than %d bytes", maxSQSMessage)}
	case e.DelaySeconds < 0 || e.DelaySeconds > maxSQSDelaySecs:
		return sendResult{}, &sqsErr{"InvalidParameterValue", fmt.Sprintf("DelaySeconds must be 0 to %d", maxSQSDelaySecs)}
	}
	var attrs map[string]events.SQSMessageAttribute
	for name, a := range e.MessageAttributes {
		if attrs == nil {
			attrs = map[string]events.SQSMessageAttribute{}
		}
		attrs[name] = events.SQSMessageAttribute{StringValue: a.StringValue, BinaryValue: a.BinaryValue, DataType: a.DataType}
	}
	id := q.Send(e.MessageBody, attrs, time.Duration(e.DelaySeconds)*time.Second)
	return sendResult{MessageId: id, MD5OfMessageBody: md5Hex([]byte(e.MessageBody)), MD5OfMessageAttributes: attributesMD5(e.MessageAttributes)}, nil
}

// attributesMD5 is SQS's MD5OfMessageAttributes: over the attributes
// sorted by name, each name, data type and value length-prefixed (4 bytes,
// big-endian) with a transport byte (1 string, 2 binary) before the value.
// It is "" when there are no attributes.
func attributesMD5(attrs map[string]sqsAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	put := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		a := attrs[n]
		put([]byte(n))
		put([]byte(a.DataType))
		if a.BinaryValue != nil || strings.HasPrefix(a.DataType, "Binary") {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(deref(a.StringValue)))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (api *sqsAPI) getQueueURL(body []byte) (any, error) {
	var in struct{ QueueName string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &sqsErr{"InvalidParameterValue", "the request is not valid JSON"}
	}
	q, ok := api.queues[in.QueueName]
	if !ok {
		return nil, &sqsErr{"QueueDoesNotExist", fmt.Sprintf("no queue %q in the local stack", in.QueueName)}
	}
	return map[string]string{"QueueUrl": q.URL}, nil
}

func (api *sqsAPI) getQueueAttributes(body []byte) (any, error) {
	var in struct {
		QueueUrl       string
		AttributeNames []string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &sqsErr{"InvalidParameterValue", "the request is not valid JSON"}
	}
	q, err := api.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	st := q.Stats()
	all := map[string]string{
		"QueueArn":                              q.ARN,
		"ApproximateNumberOfMessages":           strconv.Itoa(st.Visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(st.InFlight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(st.Delayed),
		"VisibilityTimeout":                     strconv.Itoa(int(q.visibility / time.Second)),
	}
	if q.maxReceive > 0 && q.dlq != nil {
		all["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, q.dlq.ARN, q.maxReceive)
	}
	attrs := map[string]string{}
	for _, n := range in.AttributeNames {
		if n == "All" {
			attrs = all
			break
		}
		if v, ok := all[n]; ok {
			attrs[n] = v
		}
	}
	return map[string]any{"Attributes": attrs}, nil
}

// SQSServer is the stack's SQS API on its own, over queues of the given
// names: what tests of an SQS client (the promotion queue's adapter) send
// to, through the real SDK, without starting a whole stack.
type SQSServer struct {
	api *sqsAPI
}

// NewSQSServer returns the API for queues named names (queue URLs name a
// queue by their last path segment).
func NewSQSServer(names ...string) *SQSServer {
	api := &sqsAPI{queues: map[string]*Queue{}}
	for _, n := range names {
		api.queues[n] = newQueue(n, "http://sqs.local/000000000000/"+n, "arn:aws:sqs:us-east-1:000000000000:"+n, "us-east-1", DefaultVisibilityTimeout, 0)
	}
	return &SQSServer{api: api}
}

// ServeHTTP serves SQS's JSON protocol.
func (s *SQSServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

// Queue returns the queue named name (nil if none).
func (s *SQSServer) Queue(name string) *Queue { return s.api.queues[name] }
