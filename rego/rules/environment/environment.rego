# METADATA
# title: Environmental manipulation (AARM T10)
# description: |
#   What the environment says (a change freeze, an incident, a maintenance window)
#   holds actions back until it is clear, and it only ever holds back: nothing here
#   lets an action through because of a fact, so a fact an attacker planted in
#   content can delay work but never unlock it. Context priority 50.
#
#   Facts come from outcomes (input.flow.session.facts, merged over the session, last
#   write wins), from the caller (input.signals) for the conflicts below, and from a
#   deferral's resolver (input.resolution, which wins over both).
#     - "environment-facts": a fact of data.aarm.org.blocking_facts
#       (aarm.blocking_facts; default change_freeze: write, delete, execute -> DEFER;
#       incident_active: delete, grant -> DEFER) that an outcome reported with the
#       value it names ("equals", default true), on an action with one of its
#       "operations" (absent: any but a read) -> its "effect" (DEFER, STEP_UP with
#       its "approvers" or ["oncall"], DENY; anything else: DEFER), risk MEDIUM. A
#       DEFER becomes a STEP_UP (["oncall"] or the entry's approvers) when the
#       session's intent states an emergency (flow.intent.emergency): a person
#       confirms the exception; content never lifts a hold.
#       A DEFER names the fact in context_needed; a resolver that answers it with
#       another value ({"change_freeze": false}) ends it;
#     - "environment-conflict": two facts that must not both be true
#       (data.aarm.org.conflicting_facts, pairs; default
#       [["change_freeze", "maintenance_window"]]) both true, from outcomes or the
#       caller, on any action but a read -> DEFER naming both, risk MEDIUM, until a
#       resolver answers one of them.
#   DEFER and STEP_UP only on tools whose baseline lets the call through.
#   rotation_window.rego (policy_id "rotation-window") is the pack's rule for
#   credentials.rotate and its maintenance window.
# custom:
#   threat: T10
#   aarm_control: R3 deferral on incomplete or conflicting context; R4 DEFER
package aarm.rules.environment

import data.aarm

# resolved(name): the value a deferral's resolver gave the fact (undefined when none).
resolved(name) := v if {
	is_object(input.resolution)
	v := input.resolution[name]
	v != null
}

# answered(name): a resolver gave the fact a value (false included).
answered(name) if {
	_ := resolved(name)
}

# reported(name): the fact's value as this action sees it: the resolver's, else the
# one outcomes reported.
reported(name) := v if {
	v := resolved(name)
} else := v if {
	v := aarm.flow_facts[name]
}

# stated_true(name): a resolver, an outcome or the caller says the fact is true (a
# resolver's other answer settles it).
stated_true(name) if {
	resolved(name) == true
}

stated_true(name) if {
	not answered(name)
	aarm.flow_facts[name] == true
}

stated_true(name) if {
	not answered(name)
	aarm.signal(name) == true
}

# --- blocking facts ------------------------------------------------------------------------

applies_to(spec) if {
	ops := spec.operations
	aarm.string_array(ops)
	some o in aarm.operations
	o in ops
}

applies_to(spec) if {
	not operations_listed(spec)
	not aarm.read_only
}

operations_listed(spec) if aarm.string_array(spec.operations)

declared_effect(spec) := e if {
	e := spec.effect
	e in {"DEFER", "STEP_UP", "DENY"}
} else := "DEFER"

# A hold that would wait (DEFER) asks a human instead when the user's own request states
# an emergency (input.flow.intent.emergency: "CAB approved an emergency change during the
# freeze"): waiting out the freeze is no answer to an emergency, and only a person may
# grant the exception. Content cannot do this: the intent is the user's word.
effect_of(spec) := "STEP_UP" if {
	declared_effect(spec) == "DEFER"
	input.flow.intent.emergency == true
} else := declared_effect(spec)

consequence(effect) := " is held: the user's request states an emergency; confirm that it is an approved exception" if {
	effect == "STEP_UP"
	input.flow.intent.emergency == true
} else := " waits until it no longer holds"

expected(spec) := object.get(spec, "equals", true) if is_object(spec)

else := true

fact_finding(name, spec) := object.union(
	{
		"effect": effect_of(spec),
		"policy_id": "environment-facts",
		"priority": aarm.priority.context,
		"reason": concat("", [
			"an outcome in this session reported ", name, " = ", json.marshal(expected(spec)),
			": ", aarm.tool, " (", concat(", ", sort(aarm.operations)), ")", consequence(effect_of(spec)),
		]),
		"risk": "MEDIUM",
	},
	companions(effect_of(spec), name, spec),
)

companions("DEFER", name, _) := {"context_needed": [name]}

companions("STEP_UP", _, spec) := {"approvers": a} if {
	a := spec.approvers
	aarm.string_array(a)
	count(a) > 0
} else := {"approvers": ["oncall"]}

companions("DENY", _, _) := {}

findings contains fact_finding(name, spec) if {
	some name, spec in aarm.blocking_facts
	reported(name) == expected(spec)
	applies_to(spec)
	permitted(effect_of(spec))
}

# permitted(effect): a finding of this effect may be added (a DEFER or STEP_UP only
# where the baseline lets the call through).
permitted("DENY")

permitted(effect) if {
	effect != "DENY"
	aarm.lets_through
}

# --- conflicting facts ---------------------------------------------------------------------

default conflicting_facts := [["change_freeze", "maintenance_window"]]

conflicting_facts := c if {
	c := data.aarm.org.conflicting_facts
	is_array(c)
}

findings contains {
	"context_needed": sort([a, b]),
	"effect": "DEFER",
	"policy_id": "environment-conflict",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"the environment says both ", a, " and ", b,
		", which cannot both hold: deferred until someone says which is true",
	]),
	"risk": "MEDIUM",
} if {
	aarm.lets_through
	not aarm.read_only
	some pair in conflicting_facts
	[a, b] := pair
	is_string(a)
	is_string(b)
	stated_true(a)
	stated_true(b)
}

# Holds the organisation did not list: an outcome that reports a fact whose name says
# something is held (a legal hold, a freeze, a lock, an embargo, a payee on hold, a
# blocked change, an information barrier) as true holds back any action that changes
# the world (every operation but a read) until someone resolves it. A fact listed in
# data.aarm.org.blocking_facts is judged by its own entry above.
hold_pattern := `(^|_)(hold|on_hold|freeze|frozen|lock|locked|embargo|blocked|barrier|suspended|quarantine|quarantined)(_|$)`

findings contains {
	"context_needed": [name],
	"effect": "DEFER",
	"policy_id": "environment-hold",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"an outcome in this session reported ", name, " = true: ", aarm.tool,
		" (", concat(", ", sort(aarm.operations)), ") waits until someone confirms it may go ahead",
	]),
	"risk": "MEDIUM",
} if {
	aarm.lets_through
	not aarm.read_only
	count(aarm.operations) > 0
	some name, _ in aarm.flow_facts
	not aarm.has_key(aarm.blocking_facts, name)
	regex.match(hold_pattern, lower(name))
	stated_true(name)
}
