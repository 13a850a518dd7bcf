# Arbiter core library: the context a rule needs (deferral).
#
#   AARM R3: "Deferral MUST be triggered when a rule's predicate references context
#   fields not yet populated." These helpers let a rule name the input fields it
#   depends on and defer (DEFER, context_needed) while any of them is missing:
#
#     findings contains aarm.defer_for("ticket-needed", "a change needs its ticket", needed) if {
#     	aarm.tool == "deploy.prod"
#     	needed := aarm.missing(["signals.ticket_id"])
#     	count(needed) > 0
#     }
#
#   A path is a string of object keys joined by dots, read from the input document:
#   "signals.ticket_id" is input.signals.ticket_id, "context.data_classes" is
#   input.context.data_classes. Only object keys are followed (no array indexes,
#   and a key that itself holds a dot cannot be named).
#
#   Resolution data counts: while a deferral is being resolved, input.resolution
#   holds the context its resolver supplied (POST /v1/deferrals/{id}/resolve
#   {"context": {...}}). Each path has a resolution key, the path without its first
#   segment ("signals.ticket_id" -> "ticket_id", "context.drift.distance" ->
#   "drift.distance"; a one-segment path is its own key). That key is what
#   defer_for puts into context_needed, so a resolver answers context_needed
#   ["ticket_id"] with {"context": {"ticket_id": "CHG-1"}}.
package aarm

# input_value(path): the value at the dotted path in the input, null when it is
# missing (or the input is not an object, or path is not a string).
input_value(path) := v if {
	is_string(path)
	is_object(input)
	v := object.get(input, split(path, "."), null)
} else := null

# resolution_key(path): the key a resolver supplies for path: the path without its
# first segment ("signals.ticket_id" -> "ticket_id"); a one-segment path is its own
# key. Anything but a string is returned unchanged (so a garbled path given to
# defer_for ends in a malformed finding, a DENY, rather than in no finding).
resolution_key(path) := concat(".", array.slice(segs, 1, count(segs))) if {
	is_string(path)
	segs := split(path, ".")
	count(segs) > 1
} else := path

# resolution_value(path): what input.resolution says about path, null when nothing.
# The resolution key is looked up first as one flat key (input.resolution["drift.distance"]),
# then as a dotted path (input.resolution.drift.distance).
resolution_value(path) := v if {
	is_string(path)
	res := input.resolution
	is_object(res)
	key := resolution_key(path)
	v := first_non_null([object.get(res, key, null), object.get(res, split(key, "."), null)])
} else := null

first_non_null(xs) := v if {
	vs := [x | some x in xs; x != null]
	count(vs) > 0
	v := vs[0]
} else := null

# lookup(path): the value a rule should use for path: the resolution's (when it is
# not null), else the input's; null when neither has a value. A resolver's answer
# thus overrides what the input said.
lookup(path) := v if {
	v := resolution_value(path)
	v != null
} else := input_value(path)

# path_set(paths): the paths as a set; an array or set of paths, or a single path.
path_set(paths) := {p | some p in paths} if {
	is_array(paths)
} else := paths if {
	is_set(paths)
} else := {paths}

# missing(paths): the paths (a sorted array) that are undefined or null both in the
# input and in input.resolution. Give it an array (or set) of dotted paths:
# aarm.missing(["signals.ticket_id", "context.data_classes"]). A path that is not a
# string is always reported missing (fail closed: a garbled path is never satisfied).
missing(paths) := sort({p | some p in path_set(paths); lookup(p) == null})

# defer_for(policy_id, reason, paths): a DEFER finding (context priority 50) whose
# context_needed is the sorted resolution keys of paths (see resolution_key):
#   aarm.defer_for("p", "r", ["signals.ticket_id"]) ==
#     {"effect": "DEFER", "policy_id": "p", "reason": "r", "priority": 50, "context_needed": ["ticket_id"]}
# Add "timeout_s" (object.union) for a timeout other than the configured one.
defer_for(policy_id, reason, paths) := {
	"context_needed": sort({resolution_key(p) | some p in path_set(paths)}),
	"effect": "DEFER",
	"policy_id": policy_id,
	"priority": priority.context,
	"reason": reason,
}
