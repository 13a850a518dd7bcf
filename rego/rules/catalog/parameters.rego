# Parameter constraints of the tool catalogue (policy_id "catalog.parameters",
# context priority 50, so they override the catalogue's baseline).
#
#   The constraints live in the catalogue entry, data.aarm.catalog.tools[tool]
#   "parameters" / "additional_parameters" (see rego/aarm/parameters.rego for the
#   constraint language). For each violation of the action's parameters:
#     - a DENY, the reason naming the tool, the parameter and the constraint (never
#       the parameter's value): "tool db.query: parameter sql is longer than its
#       max_length 10000";
#     - with "on_violation": "MODIFY" on a crossed bound (minimum, maximum,
#       max_length, max_items), or a missing parameter with a "default": a MODIFY
#       whose patch replaces (adds) the parameter:
#       [{"op": "replace", "path": "/limit", "value": 100}], the reason saying what
#       was done ("tool db.query: parameter limit is above its maximum 100:
#       lowered to its maximum"). Only when the entry's default_decision is ALLOW
#       or MODIFY (then the entry's own patch is repeated beside it, so that it
#       still applies): on a tool whose default decision is DENY, STEP_UP or DEFER a
#       MODIFY at the context priority would replace that baseline (skip the
#       approval or the deferral), so the violation is a DENY there.
#   Fail closed: an entry whose constraints are malformed gets a forbidden DENY
#   (risk HIGH) naming the entry and what is wrong, whatever the parameters: a
#   broken constraint is a policy bug, and nothing may turn it into an ALLOW.
#   Unknown tools (no entry) are left to the default posture.
package aarm.rules.catalog

import data.aarm

# (Everything below aarm.rules is walked by the core library, which takes any
# string path ending in "findings" for a rule's findings. So no rule of this
# package holds input values under string keys: the only ones, the replacement
# values in `violations`, sit inside set elements, which are not string paths.)

findings contains {
	"effect": "DENY",
	"forbidden": true,
	"policy_id": "catalog.parameters",
	"priority": aarm.priority.context,
	"reason": concat("", [
		"tool ", aarm.tool, " has a malformed catalogue entry (", problem,
		"): denied",
	]),
	"risk": "HIGH",
} if {
	entry := aarm.catalog_entry
	some problem in aarm.parameter_problems(entry)
}

# A violation that is a DENY.
findings contains violation_finding("DENY", concat("", ["tool ", aarm.tool, ": ", v.message])) if {
	some v in violations
	v.effect == "DENY"
}

# A violation that is a MODIFY, on a tool whose baseline lets the call through.
findings contains object.union(
	violation_finding("MODIFY", concat("", ["tool ", aarm.tool, ": ", v.message, ": ", v.modification])),
	{"patch": v.patch},
) if {
	modifiable
	some v in violations
	v.effect == "MODIFY"
}

# A violation that would be a MODIFY, on a tool whose baseline is DENY, STEP_UP or
# DEFER: a MODIFY at the context priority would replace that baseline (skip the
# approval, the deferral), and a STEP_UP or DEFER carries no patch. So: DENY.
findings contains violation_finding("DENY", concat("", [
	"tool ", aarm.tool, ": ", v.message, ": not modified, as the tool's default decision ",
	default_decision, " cannot be replaced by a MODIFY: denied",
])) if {
	not modifiable
	some v in violations
	v.effect == "MODIFY"
}

# On a tool catalogued MODIFY, the baseline's patch would be outranked by the
# parameter MODIFY: it is repeated at the context priority (it sorts, and so
# applies, before the parameter patches).
findings contains object.union(
	violation_finding("MODIFY", concat("", ["tool ", aarm.tool, " is catalogued with default decision MODIFY: its patch applies as well"])),
	{"patch": aarm.catalog_entry.patch},
) if {
	default_decision == "MODIFY"
	some v in violations
	v.effect == "MODIFY"
}

violation_finding(effect, reason) := {
	"effect": effect,
	"policy_id": "catalog.parameters",
	"priority": aarm.priority.context,
	"reason": reason,
}

# violations: the violations of the tool's well-formed parameter constraints (a set
# of objects, see aarm.parameter_violations: no input value is held in them but the
# replacement values of the patches).
violations := vs if {
	entry := aarm.catalog_entry
	count(aarm.parameter_problems(entry)) == 0
	vs := aarm.parameter_violations(entry, aarm.raw_params)
}

# modifiable: the entry's default decision would let the call through as it is
# (ALLOW or MODIFY), so a MODIFY of its parameters may stand in for it.
modifiable if default_decision in {"ALLOW", "MODIFY"}
