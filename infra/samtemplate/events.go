package samtemplate

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Resource types of the event bus and its rules.
const (
	typeEventBus = "AWS::Events::EventBus"
	typeRule     = "AWS::Events::Rule"
)

// EventBus is an AWS::Events::EventBus.
type EventBus struct {
	LogicalID string
	// Name is the Name property (a !Sub of parameters, usually).
	Name Value
}

// Rule is an AWS::Events::Rule on one of the template's buses (a rule
// with no EventBusName, on the default bus, has EventBusLogicalID "").
type Rule struct {
	LogicalID         string
	EventBusLogicalID string
	// Sources and DetailTypes are the event pattern's source and
	// detail-type lists (empty: any).
	Sources, DetailTypes []string
	// Enabled is State ENABLED (or absent).
	Enabled bool
	// QueueTargets are the SQS queues among the targets (the resources of
	// their Arn's !GetAtt), in template order.
	QueueTargets []string
}

// Matches reports whether an event of source and detailType matches the
// rule's pattern.
func (r Rule) Matches(source, detailType string) bool {
	return (len(r.Sources) == 0 || slices.Contains(r.Sources, source)) &&
		(len(r.DetailTypes) == 0 || slices.Contains(r.DetailTypes, detailType))
}

type rawRuleProps struct {
	EventBusName Value
	State        string
	EventPattern struct {
		Source     []string `json:"source"`
		DetailType []string `json:"detail-type"`
	}
	Targets []struct {
		Arn Value
		Id  string
	}
}

// readEvents reads the buses and rules of the template's resources.
func (t *Template) readEvents(ids []string, res map[string]rawResource) error {
	for _, id := range ids {
		switch res[id].Type {
		case typeEventBus:
			var p struct{ Name Value }
			if err := json.Unmarshal(res[id].Properties, &p); err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			t.EventBuses = append(t.EventBuses, EventBus{LogicalID: id, Name: p.Name})
		case typeRule:
			var p rawRuleProps
			if err := json.Unmarshal(res[id].Properties, &p); err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			r := Rule{LogicalID: id, EventBusLogicalID: p.EventBusName.Ref, Sources: p.EventPattern.Source,
				DetailTypes: p.EventPattern.DetailType, Enabled: p.State == "" || p.State == "ENABLED"}
			for _, tg := range p.Targets {
				if q, err := tg.Arn.getAttResource("Arn"); err == nil && res[q].Type == typeQueue {
					r.QueueTargets = append(r.QueueTargets, q)
				}
			}
			t.Rules = append(t.Rules, r)
		}
	}
	return nil
}
