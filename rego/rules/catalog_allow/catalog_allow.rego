# METADATA
# title: Tool catalogue
# description: |
#   Baseline ALLOW (priority 0, policy_id "catalog-allow") for the tools listed in
#   data.aarm.catalog.allowed_tools. A tool not listed (or no list at all) gets no
#   finding here, so unless another rule speaks the default posture (DENY) decides.
#   Every other rule of the pack sits above this baseline and so overrides it.
package aarm.rules.catalog_allow

import data.aarm

# allowed_tools: the catalogue from data, [] when it is missing or not an array.
default allowed_tools := []

allowed_tools := tools if {
	tools := data.aarm.catalog.allowed_tools
	is_array(tools)
}

findings contains {
	"effect": "ALLOW",
	"policy_id": "catalog-allow",
	"priority": aarm.priority.baseline,
	"reason": concat("", ["tool ", aarm.tool, " is in the catalogue of allowed tools"]),
} if {
	aarm.tool != ""
	aarm.tool in allowed_tools
}
