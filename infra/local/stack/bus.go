package stack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/giftcredit/giftcredit/infra/localaws"
)

// The event bus stand-in (localaws.Bus) is served on the control port:
// PutEvents on POST / (X-Amz-Target: AWSEvents.PutEvents, beside the SQS
// API) and every event received on GET /events, oldest first. Each event
// goes on, as the template's rules would send it, to the queues its
// matching rules target (the webhook queue, and so the delivery function).

// eventsPath is where GET lists the bus's events (stack.json eventsUrl).
const eventsPath = "/events"

// makeBus starts the bus stand-in when the template declares a bus.
func (s *Stack) makeBus() {
	if len(s.tpl.EventBuses) == 0 {
		return
	}
	s.bus = localaws.NewBus()
	s.bus.SetForward(s.route)
}

// route hands an accepted event to the targets of the enabled rules that
// match it (every rule on the template's buses: the stand-in is one bus).
func (s *Stack) route(ev localaws.BusEvent) {
	body, err := json.Marshal(ev)
	if err != nil {
		s.log.printf("bus: encode event %s: %v", ev.ID, err)
		return
	}
	for _, r := range s.tpl.Rules {
		if !r.Enabled || r.EventBusLogicalID == "" || !r.Matches(ev.Source, ev.DetailType) {
			continue
		}
		for _, q := range r.QueueTargets {
			if queue := s.queues[q]; queue != nil {
				queue.Send(string(body), nil, 0)
			}
		}
	}
}

// eventBusName is the local name of a template bus: its Name resolved, or
// its logical id.
func (s *Stack) eventBusNames(l *Locals) map[string]string {
	out := map[string]string{}
	for _, b := range s.tpl.EventBuses {
		name, err := b.Name.Resolve(l.lookup)
		if err != nil || name == "" {
			name = b.LogicalID
		}
		out[b.LogicalID] = name
	}
	return out
}

// withBus serves the bus beside the SQS API on POST /, by X-Amz-Target.
func (s *Stack) withBus(sqs http.Handler) http.Handler {
	if s.bus == nil {
		return sqs
	}
	bus := s.bus.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AWSEvents.") {
			bus.ServeHTTP(w, r)
			return
		}
		sqs.ServeHTTP(w, r)
	})
}

// Bus returns the event bus stand-in (nil if the template has no bus).
func (s *Stack) Bus() *localaws.Bus { return s.bus }

// EventsURL lists the bus's events ("" without a bus).
func (s *Stack) EventsURL() string {
	if s.bus == nil {
		return ""
	}
	return fmt.Sprintf("%s%s", s.controlURL, eventsPath)
}
