# Tests of the context helpers of the core library: input_value, resolution_key,
# resolution_value, lookup, missing and defer_for, alone and through the combiner.
package aarm_context_test

import data.aarm

inp := {
	"action": {"tool": "deploy", "parameters": {"env": "prod"}},
	"signals": {"ticket_id": "CHG-1", "score": 0, "flag": false, "nothing": null},
	"context": {"data_classes": [], "drift": {"distance": 0.25}},
}

test_input_value_reads_dotted_paths if {
	v1 := aarm.input_value("signals.ticket_id") with input as inp
	v1 == "CHG-1"
	v2 := aarm.input_value("context.drift.distance") with input as inp
	v2 == 0.25
	v3 := aarm.input_value("context.data_classes") with input as inp
	v3 == []
	v4 := aarm.input_value("action") with input as inp
	v4 == inp.action
}

test_input_value_keeps_falsy_values if {
	v1 := aarm.input_value("signals.score") with input as inp
	v1 == 0
	v2 := aarm.input_value("signals.flag") with input as inp
	v2 == false
}

test_input_value_null_when_missing if {
	every path in [
		"signals.missing",
		"signals.nothing",
		"signals.ticket_id.deeper",
		"nosuch.field",
		"context.data_classes.0",
		"",
		"signals.",
	] {
		v := aarm.input_value(path) with input as inp
		v == null
	}
}

test_input_value_null_for_garbled_paths_and_inputs if {
	every path in [5, null, ["signals", "ticket_id"], {"signals": true}] {
		v := aarm.input_value(path) with input as inp
		v == null
	}
	every bad in ["garbage", [1], 7, null] {
		v := aarm.input_value("signals.ticket_id") with input as bad
		v == null
	}
}

test_resolution_key if {
	aarm.resolution_key("signals.ticket_id") == "ticket_id"
	aarm.resolution_key("context.drift.distance") == "drift.distance"
	aarm.resolution_key("maintenance_window") == "maintenance_window"
	aarm.resolution_key(5) == 5
}

test_resolution_value_flat_and_nested if {
	flat := object.union(inp, {"resolution": {"ticket_id": "CHG-9", "drift.distance": 0.5}})
	v1 := aarm.resolution_value("signals.ticket_id") with input as flat
	v1 == "CHG-9"
	v2 := aarm.resolution_value("context.drift.distance") with input as flat
	v2 == 0.5
	nested := object.union(inp, {"resolution": {"drift": {"distance": 0.75}}})
	v3 := aarm.resolution_value("context.drift.distance") with input as nested
	v3 == 0.75
}

test_resolution_value_null_without_a_usable_resolution if {
	every res in [null, "ticket_id=1", [], {}, {"ticket_id": null}, {"other": 1}] {
		v := aarm.resolution_value("signals.ticket_id") with input as object.union(inp, {"resolution": res})
		v == null
	}
	v := aarm.resolution_value("signals.ticket_id") with input as inp
	v == null
}

test_lookup_prefers_the_resolution if {
	both := object.union(inp, {"resolution": {"ticket_id": "CHG-2"}})
	v1 := aarm.lookup("signals.ticket_id") with input as both
	v1 == "CHG-2"
	v2 := aarm.lookup("signals.ticket_id") with input as inp
	v2 == "CHG-1"
	resolved_false := object.union(inp, {"resolution": {"ticket_id": false}})
	v3 := aarm.lookup("signals.ticket_id") with input as resolved_false
	v3 == false
}

test_lookup_null_resolution_falls_back_to_the_input if {
	v := aarm.lookup("signals.ticket_id") with input as object.union(inp, {"resolution": {"ticket_id": null}})
	v == "CHG-1"
}

test_missing_lists_undefined_and_null_paths_sorted if {
	m := aarm.missing(["signals.ticket_id", "signals.zeta", "signals.nothing", "context.data_classes", "context.alpha"]) with input as inp
	m == ["context.alpha", "signals.nothing", "signals.zeta"]
}

test_missing_empty_when_all_present if {
	m := aarm.missing(["signals.ticket_id", "signals.score", "signals.flag", "context.data_classes"]) with input as inp
	m == []
	e := aarm.missing([]) with input as inp
	e == []
}

test_missing_accepts_a_set_or_one_path if {
	s := aarm.missing({"signals.a", "signals.ticket_id"}) with input as inp
	s == ["signals.a"]
	o := aarm.missing("signals.a") with input as inp
	o == ["signals.a"]
}

test_missing_satisfied_by_the_resolution if {
	res := object.union(inp, {"resolution": {"zeta": "z", "alpha": 1}})
	m := aarm.missing(["signals.zeta", "context.alpha", "signals.other"]) with input as res
	m == ["signals.other"]
}

test_missing_reports_garbled_paths if {
	m := aarm.missing(["signals.ticket_id", 5, null]) with input as inp
	count(m) == 2
	5 in m
	null in m
}

test_missing_everything_without_input if {
	m := aarm.missing(["signals.a", "context.b"]) with input as {}
	m == ["context.b", "signals.a"]
}

test_defer_for_builds_a_defer_finding if {
	aarm.defer_for("p", "r", ["signals.ticket_id", "context.drift.distance", "signals.ticket_id"]) == {
		"context_needed": ["drift.distance", "ticket_id"],
		"effect": "DEFER",
		"policy_id": "p",
		"priority": 50,
		"reason": "r",
	}
}

# --- through the combiner -----------------------------------------------------------

# The findings of a rule written with the helpers, as the docs show it, for inp
# (computed under inp: `with` values are evaluated outside the `with`).
ticket_findings(inp) := fs if {
	fs := {aarm.defer_for("ticket-needed", "a change needs its ticket", needed) |
		needed := aarm.missing(["signals.ticket_id"])
		count(needed) > 0
	} with input as inp
}

decide(inp) := d if {
	fs := ticket_findings(inp)
	d := data.aarm.decision with input as inp with data.aarm.rules as {"t": {"findings": fs}}
}

test_defer_for_through_the_combiner if {
	decide({"signals": {}}) == {
		"decision": "DEFER",
		"reasons": [{"effect": "DEFER", "policy_id": "ticket-needed", "priority": 50, "reason": "a change needs its ticket"}],
		"context_needed": ["ticket_id"],
		"timeout_s": 300,
	}
}

test_the_resolution_ends_the_deferral if {
	count(ticket_findings({"signals": {}, "resolution": {"ticket_id": "CHG-1"}})) == 0
	d := decide({"signals": {}, "resolution": {"ticket_id": "CHG-1"}})
	d.decision == "DENY"
	d["default"] == true
	count(ticket_findings({"signals": {"ticket_id": "CHG-1"}})) == 0
}

test_garbled_paths_in_defer_for_fail_closed if {
	f := aarm.defer_for("p", "r", [5])
	d := data.aarm.decision with data.aarm.rules as {"t": {"findings": {f}}}
	d.decision == "DENY"
	d.reasons[0].policy_id == "aarm.malformed_finding"
}
