# METADATA
# title: Tool catalogue
# description: |
#   The baseline (priority 0, policy_id "catalog") of every tool listed in
#   data.aarm.catalog.tools: its effect is the entry's default_decision, the
#   reason names the tool. Every other rule of the pack sits above this baseline
#   and so overrides it.
#
#   A tool that is not listed (or no catalogue at all) gets no finding here, so
#   unless another rule speaks the default posture (DENY) decides.
#
#   Fail closed: a listed tool whose entry is not an object, or whose
#   default_decision is missing or not exactly one of ALLOW, DENY, MODIFY,
#   STEP_UP, DEFER, gets a forbidden DENY (risk HIGH) instead: a broken catalogue
#   entry is a policy bug, and no other rule may turn it into an ALLOW.
#
#   A default_decision that needs more than an effect takes its companion fields
#   from the entry: MODIFY its "patch", STEP_UP its "approvers", "quorum",
#   "four_eyes" and "timeout_s", DEFER its "context_needed" and "timeout_s" (each
#   only when present). They are checked by the core library like any finding's,
#   so a MODIFY entry without a valid patch, or a STEP_UP entry with a quorum of 0,
#   ends in the forbidden DENY of aarm.malformed_finding.
#
#   An "operation" that is not one of read, write, delete, execute, send, grant,
#   pay, or a non-empty array of them, is a broken entry too (forbidden DENY):
#   rules and capability scopes read it.
#
#   The other files of this package: parameters.rego enforces the entry's
#   parameter constraints ("parameters", "additional_parameters"; policy_id
#   "catalog.parameters"), effects.rego its conditional effects ("effects";
#   "catalog.effects.<id>"), limits.rego the organisation's session limits
#   (data.aarm.org.limits; "catalog.limits.<name>"). docs/policy-authoring.md,
#   "The tool catalogue", and docs/detection.md describe the data.
package aarm.rules.catalog

import data.aarm

# listed: the tool has an entry in the catalogue, whatever its value. (No rule of
# this package holds the catalogue or the input itself: everything below
# aarm.rules is walked by the core library, and a key "findings" in them, e.g. a
# parameter of that name, would be taken for a rule's findings.)
listed if {
	aarm.tool != ""
	tools := data.aarm.catalog.tools
	is_object(tools)
	aarm.has_key(tools, aarm.tool)
}

# default_decision: the entry's default_decision when it is one of the five effects.
default_decision := d if {
	d := aarm.catalog_entry.default_decision
	is_string(d)
	d in aarm.effects
}

# The fields each effect takes from the entry.
companions := {
	"ALLOW": [],
	"DENY": [],
	"MODIFY": ["patch"],
	"STEP_UP": ["approvers", "quorum", "four_eyes", "timeout_s"],
	"DEFER": ["context_needed", "timeout_s"],
}

findings contains object.union(
	object.filter(aarm.catalog_entry, companions[default_decision]),
	{
		"effect": default_decision,
		"policy_id": "catalog",
		"priority": aarm.priority.baseline,
		"reason": concat("", ["tool ", aarm.tool, " is catalogued with default decision ", default_decision]),
	},
)

findings contains {
	"effect": "DENY",
	"forbidden": true,
	"policy_id": "catalog",
	"priority": aarm.priority.baseline,
	"reason": concat("", ["tool ", aarm.tool, " has a catalogue entry without a valid default_decision: denied"]),
	"risk": "HIGH",
} if {
	listed
	not default_decision
}

findings contains {
	"effect": "DENY",
	"forbidden": true,
	"policy_id": "catalog",
	"priority": aarm.priority.baseline,
	"reason": concat("", [
		"tool ", aarm.tool, " has a catalogue entry whose operation is not one of ",
		concat(", ", sort(aarm.operation_names)), " or an array of them: denied",
	]),
	"risk": "HIGH",
} if {
	entry := aarm.catalog_entry
	aarm.has_key(entry, "operation")
	not aarm.valid_operation(entry.operation)
}
