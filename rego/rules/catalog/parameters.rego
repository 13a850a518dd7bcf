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
#       [{"op": "replace", "path": "/limit", "value": 100}].
#   Fail closed: an entry whose constraints are malformed gets a forbidden DENY
#   (risk HIGH) naming the entry and what is wrong, whatever the parameters: a
#   broken constraint is a policy bug, and nothing may turn it into an ALLOW.
#   Unknown tools (no entry) are left to the default posture.
package aarm.rules.catalog

import data.aarm

# (No rule of this package holds input values: everything below aarm.rules is
# walked by the core library, and a parameter named "findings" would be taken
# for a rule's findings.)

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

findings contains object.union(
	{
		"effect": v.effect,
		"policy_id": "catalog.parameters",
		"priority": aarm.priority.context,
		"reason": concat("", ["tool ", aarm.tool, ": ", v.message]),
	},
	object.filter(v, ["patch"]),
) if {
	entry := aarm.catalog_entry
	count(aarm.parameter_problems(entry)) == 0
	some v in aarm.parameter_violations(entry, aarm.raw_params)
}
