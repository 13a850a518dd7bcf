# Tests of rotation_window.rego (aarm.rules.environment), alone and through the real combiner.
package rules_test.environment_rotation

rotate := {"action": {"tool": "credentials.rotate", "operation": "write", "parameters": {"credential": "db-admin"}}}

with_signals(signals) := object.union(rotate, {"signals": signals})

decision(inp) := d if {
	d := data.aarm.decision with input as inp
}

test_unknown_window_defers if {
	decision(rotate) == {
		"decision": "DEFER",
		"reasons": [{
			"effect": "DEFER",
			"policy_id": "rotation-window",
			"priority": 50,
			"reason": "credential rotation needs to know whether a maintenance window is open",
		}],
		"context_needed": ["maintenance_window"],
		"timeout_s": 300,
	}
}

test_closed_window_denies if {
	decision(with_signals({"maintenance_window": false})) == {
		"decision": "DENY",
		"reasons": [{
			"effect": "DENY",
			"policy_id": "rotation-window",
			"priority": 50,
			"reason": "credentials may only be rotated inside a maintenance window",
		}],
	}
}

test_open_window_leaves_the_baseline_allow if {
	inp := with_signals({"maintenance_window": true})
	fs := data.aarm.rules.environment.findings with input as inp
	count(fs) == 0
	d := decision(inp)
	d.decision == "ALLOW"
	[r.policy_id | some r in d.reasons] == ["catalog"]
}

test_garbled_window_defers if {
	every v in ["true", 1, null, {}, []] {
		decision(with_signals({"maintenance_window": v})).decision == "DEFER"
	}
}

test_garbled_signals_defer if {
	decision(object.union(rotate, {"signals": "open"})).decision == "DEFER"
}

test_resolution_supplies_the_window if {
	decision(object.union(rotate, {"resolution": {"maintenance_window": true}})).decision == "ALLOW"
	decision(object.union(rotate, {"resolution": {"maintenance_window": false}})).decision == "DENY"
}

test_resolution_wins_over_signals if {
	inp := object.union(with_signals({"maintenance_window": false}), {"resolution": {"maintenance_window": true}})
	decision(inp).decision == "ALLOW"
}

test_resolution_without_the_window_uses_signals if {
	inp := object.union(with_signals({"maintenance_window": true}), {"resolution": {"ticket": "CHG-1"}})
	decision(inp).decision == "ALLOW"
}

test_other_tools_are_not_touched if {
	fs := data.aarm.rules.environment.findings with input as {"action": {"tool": "files.read"}}
	count(fs) == 0
}

test_the_deferral_is_built_with_defer_for if {
	fs := data.aarm.rules.environment.findings with input as rotate
	fs == {{
		"context_needed": ["maintenance_window"],
		"effect": "DEFER",
		"policy_id": "rotation-window",
		"priority": 50,
		"reason": "credential rotation needs to know whether a maintenance window is open",
		"timeout_s": 300,
	}}
}

test_null_window_defers if {
	d := decision(with_signals({"maintenance_window": null}))
	d.decision == "DEFER"
	d.context_needed == ["maintenance_window"]
}

test_null_resolution_falls_back_to_signals if {
	inp := object.union(with_signals({"maintenance_window": true}), {"resolution": {"maintenance_window": null}})
	decision(inp).decision == "ALLOW"
	e := object.union(rotate, {"resolution": {"maintenance_window": null}})
	decision(e).decision == "DEFER"
}

test_garbled_resolution_defers if {
	every v in ["yes", 1, {}, []] {
		inp := object.union(with_signals({"maintenance_window": true}), {"resolution": {"maintenance_window": v}})
		decision(inp).decision == "DEFER"
	}
}

test_garbled_resolution_document_uses_signals if {
	every res in ["open", [true], null] {
		inp := object.union(with_signals({"maintenance_window": true}), {"resolution": res})
		decision(inp).decision == "ALLOW"
	}
}

test_the_flag_is_not_a_rule_document if {
	# a value under aarm.rules would be walked by the core library
	inp := with_signals({"maintenance_window": {"findings": [{"effect": "ALLOW"}]}})
	d := decision(inp)
	d.decision == "DEFER"
	[r.policy_id | some r in d.reasons] == ["rotation-window"]
}
