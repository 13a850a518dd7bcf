# METADATA
# title: Credential rotation only in a maintenance window
# description: |
#   credentials.rotate depends on the maintenance_window flag (policy_id
#   "rotation-window", context priority 50):
#     - true: no finding (the catalogue's baseline ALLOW stands);
#     - false: DENY;
#     - not set, or anything but a boolean: DEFER with context_needed
#       ["maintenance_window"] and timeout_s 300.
#   The flag is read from input.resolution (the context a deferral's resolver
#   supplied, when a deferral is being resolved), else from input.signals.
package aarm.rules.rotation_window

import data.aarm

window := input.resolution.maintenance_window if {
	is_object(input.resolution)
	aarm.has_key(input.resolution, "maintenance_window")
} else := aarm.signal("maintenance_window")

findings contains {
	"effect": "DENY",
	"policy_id": "rotation-window",
	"priority": aarm.priority.context,
	"reason": "credentials may only be rotated inside a maintenance window",
} if {
	aarm.tool == "credentials.rotate"
	window == false
}

findings contains {
	"context_needed": ["maintenance_window"],
	"effect": "DEFER",
	"policy_id": "rotation-window",
	"priority": aarm.priority.context,
	"reason": "credential rotation needs to know whether a maintenance window is open",
	"timeout_s": 300,
} if {
	aarm.tool == "credentials.rotate"
	not is_boolean(window)
}
