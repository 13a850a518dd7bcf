# METADATA
# title: Intent drift
# description: |
#   AARM R7 (docs/drift.md). The service measures how far each action is from the
#   session's intent and passes it as input.drift:
#     {"status": "measured", "distance", "cumulative", "ema", "max", "count",
#      "provider", "fell_back"}                 the state after this action
#     {"status": "unavailable", "provider"}     the embedding provider failed ("defer" mode)
#   and nothing when drift is not measured (switched off, or a session without intent).
#   The profile: data.aarm.drift.agents[input.identity.agent], else
#   data.aarm.drift.default_profile, else "default"; its thresholds are
#   data.aarm.drift.profiles[profile] {distance_threshold, cumulative_threshold, action,
#   providers?: {<provider name>: {distance_threshold, cumulative_threshold}}} (the
#   providers entry matching input.drift.provider wins: vector spaces differ).
#
#   distance > distance_threshold or cumulative > cumulative_threshold: the profile's
#   action (STEP_UP or DEFER), policy_id "intent-drift", context priority 50, risk
#   MEDIUM, the reason giving the figures. Only for tools catalogued with
#   default_decision ALLOW or MODIFY (AARM precedence 4: a static ALLOW whose alignment
#   is low): an unknown tool, or one catalogued DENY, STEP_UP or DEFER, keeps its
#   decision (a context-priority finding would otherwise outrank its baseline).
#
#   Fail closed:
#     - status "unavailable", or an input.drift that cannot be read -> DEFER
#       (context_needed ["intent drift measurement"]): never "no drift";
#     - a measured drift whose profile is missing or malformed -> DEFER;
#     - drift over a threshold on an action whose parameters also need a MODIFY ->
#       DENY: a STEP_UP or DEFER carries no patch, so an approval would run the
#       unmodified parameters.
#   escalation.rego adds the classification-escalation rule ("intent-drift.escalation").
# custom:
#   threat: T6
#   aarm_control: R7 semantic distance tracking; R4 STEP_UP / DEFER
package aarm.rules.drift

import data.aarm

policy_id := "intent-drift"

# present: the service sent a drift measurement (or its failure).
present if aarm.has_key(input, "drift")

status := s if {
	s := input.drift.status
	is_string(s)
}

measured if status == "measured"

readable if {
	status == "unavailable"
}

readable if {
	measured
	is_number(input.drift.distance)
	is_number(input.drift.cumulative)
}

# applies: the tool is catalogued with a baseline that lets the call through.
applies if aarm.catalog_entry.default_decision in {"ALLOW", "MODIFY"}

profile_name := n if {
	n := data.aarm.drift.agents[input.identity.agent]
	is_string(n)
} else := n if {
	n := data.aarm.drift.default_profile
	is_string(n)
} else := "default"

profile := p if {
	p := data.aarm.drift.profiles[profile_name]
	is_object(p)
	p.action in {"STEP_UP", "DEFER"}
	thresholds_ok(p)
	not providers_garbled(p)
}

thresholds_ok(t) if {
	is_number(t.distance_threshold)
	is_number(t.cumulative_threshold)
}

providers_garbled(p) if {
	aarm.has_key(p, "providers")
	not is_object(p.providers)
}

providers_garbled(p) if {
	some _, t in p.providers
	not thresholds_ok(t)
}

# thresholds: the profile's own for the provider that measured this action (a profile
# calibrated for a remote model keeps the built-in provider's under "providers", for
# the actions the fallback measured), else the profile's.
thresholds := t if {
	t := profile.providers[input.drift.provider]
} else := profile

over contains sprintf("action distance %.3f > %.2f", [input.drift.distance, thresholds.distance_threshold]) if {
	measured
	input.drift.distance > thresholds.distance_threshold
}

over contains sprintf("cumulative drift %.3f > %.2f", [input.drift.cumulative, thresholds.cumulative_threshold]) if {
	measured
	input.drift.cumulative > thresholds.cumulative_threshold
}

# modified: the catalogue's parameter constraints will rewrite this action.
modified if {
	entry := aarm.catalog_entry
	count(aarm.parameter_problems(entry)) == 0
	some v in aarm.parameter_violations(entry, aarm.raw_params)
	v.effect == "MODIFY"
}

defer(reason) := {
	"effect": "DEFER",
	"policy_id": policy_id,
	"priority": aarm.priority.context,
	"reason": reason,
	"risk": "MEDIUM",
	"context_needed": ["intent drift measurement"],
}

reason := concat("", [
	"intent drift (profile ", profile_name, "): ",
	concat(", ", sort(over)),
])

findings contains {
	"effect": profile.action,
	"policy_id": policy_id,
	"priority": aarm.priority.context,
	"reason": reason,
	"risk": "MEDIUM",
} if {
	applies
	count(over) > 0
	not modified
}

findings contains {
	"effect": "DENY",
	"policy_id": policy_id,
	"priority": aarm.priority.context,
	"reason": concat("", [reason, "; the parameters also need a modification, which an approval would skip: denied"]),
	"risk": "MEDIUM",
} if {
	applies
	count(over) > 0
	modified
}

findings contains defer("intent drift cannot be measured: the embedding provider is unavailable") if {
	applies
	status == "unavailable"
}

findings contains defer("input.drift cannot be read") if {
	applies
	present
	not readable
}

findings contains defer(concat("", ["drift profile ", profile_name, " is missing or malformed in data.aarm.drift.profiles"])) if {
	applies
	measured
	readable
	not profile
}
