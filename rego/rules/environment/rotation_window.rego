package aarm.rules.environment

import data.aarm

rotation_path := "signals.maintenance_window"

rotation_defer := object.union(
	aarm.defer_for("rotation-window", "credential rotation needs to know whether a maintenance window is open", [rotation_path]),
	{"timeout_s": 300},
)

# METADATA
# title: Credential rotation only in a maintenance window (AARM T10)
# description: |
#   credentials.rotate depends on the maintenance_window flag (policy_id
#   "rotation-window", context priority 50), read with
#   aarm.lookup("signals.maintenance_window"): input.resolution.maintenance_window
#   (the context a deferral's resolver supplied) when it is set and not null, else
#   input.signals.maintenance_window:
#     - true: no finding (the catalogue's baseline ALLOW stands);
#     - false: DENY;
#     - missing or null: DEFER (aarm.defer_for) with context_needed
#       ["maintenance_window"] and timeout_s 300;
#     - anything but a boolean: the same DEFER (fail closed: a garbled flag is
#       not an open window).
#   No rule of this package holds the flag itself: documents below aarm.rules are
#   walked by the core library, so input values stay inside the rule bodies.
# custom:
#   threat: T10
#   aarm_control: R3 deferral when a predicate needs context not yet populated; R4 DEFER
findings contains {
	"effect": "DENY",
	"policy_id": "rotation-window",
	"priority": aarm.priority.context,
	"reason": "credentials may only be rotated inside a maintenance window",
} if {
	aarm.tool == "credentials.rotate"
	aarm.lookup(rotation_path) == false
}

# The flag is missing or null (in the input and in the resolution).
findings contains rotation_defer if {
	aarm.tool == "credentials.rotate"
	count(aarm.missing([rotation_path])) > 0
}

# The flag is there but not a boolean.
findings contains rotation_defer if {
	aarm.tool == "credentials.rotate"
	not is_boolean(aarm.lookup(rotation_path))
}
