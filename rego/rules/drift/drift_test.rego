# Tests of aarm.rules.drift through the real combiner.
package rules_test.drift

profiles := {
	"default": {"distance_threshold": 0.98, "cumulative_threshold": 0.93, "action": "STEP_UP"},
	"devops": {"distance_threshold": 0.93, "cumulative_threshold": 0.93, "action": "DEFER"},
}

drift_data := {"profiles": profiles, "agents": {"ops-bot": "devops"}}

act(tool, params, drift, agent) := {
	"action": {"tool": tool, "parameters": params},
	"identity": {"agent": agent},
	"drift": drift,
}

measured(d, c) := {"status": "measured", "distance": d, "cumulative": c, "ema": c, "max": d, "count": 3, "provider": "hashed-ngram-v1-1024", "fell_back": false}

decide(inp) := d if {
	d := data.aarm.decision with input as inp with data.aarm.drift as drift_data
}

test_on_task_is_allowed if {
	decide(act("files.read", {"path": "/x"}, measured(0.6, 0.5), "a")).decision == "ALLOW"
}

test_far_action_steps_up if {
	d := decide(act("files.read", {"path": "/x"}, measured(0.99, 0.5), "a"))
	d.decision == "STEP_UP"
	d.reasons[0].policy_id == "intent-drift"
	d.reasons[0].reason == "intent drift (profile default): action distance 0.990 > 0.98"
}

test_cumulative_steps_up if {
	d := decide(act("files.read", {"path": "/x"}, measured(0.9, 0.95), "a"))
	d.decision == "STEP_UP"
	d.reasons[0].reason == "intent drift (profile default): cumulative drift 0.950 > 0.93"
}

test_agent_profile_defers if {
	d := decide(act("files.read", {"path": "/x"}, measured(0.95, 0.5), "ops-bot"))
	d.decision == "DEFER"
	d.context_needed == []
}

test_unknown_tool_stays_denied if {
	decide(act("nope.tool", {}, measured(1.2, 1.2), "a")).decision == "DENY"
}

test_no_measurement_says_nothing if {
	d := data.aarm.decision with input as {"action": {"tool": "files.read", "parameters": {}}} with data.aarm.drift as drift_data
	d.decision == "ALLOW"
}

test_unavailable_defers if {
	d := decide(act("files.read", {}, {"status": "unavailable", "provider": "remote:m"}, "a"))
	d.decision == "DEFER"
	d.context_needed == ["intent drift measurement"]
}

test_garbled_defers if {
	every g in [null, "x", {"status": "measured"}, {"status": "measured", "distance": "0.2", "cumulative": 0.1}, {"status": "other"}] {
		decide(act("files.read", {}, g, "a")).decision == "DEFER"
	}
}

test_missing_profile_defers if {
	d := data.aarm.decision with input as act("files.read", {}, measured(0.1, 0.1), "a") with data.aarm.drift as {"profiles": {}}
	d.decision == "DEFER"
}

test_drift_with_modify_is_denied if {
	d := decide(act("db.query", {"sql": "select 1", "limit": 5000}, measured(0.99, 0.5), "a"))
	d.decision == "DENY"
}

test_modify_without_drift_still_modifies if {
	decide(act("db.query", {"sql": "select 1", "limit": 5000}, measured(0.5, 0.5), "a")).decision == "MODIFY"
}

test_forbidden_still_wins if {
	d := decide(act("db.drop", {"database": "production"}, measured(0.99, 0.99), "a"))
	d.decision == "DENY"
}

test_provider_thresholds_win if {
	prof := {"default": {
		"distance_threshold": 0.5, "cumulative_threshold": 0.4, "action": "STEP_UP",
		"providers": {"hashed-ngram-v1-1024": {"distance_threshold": 0.98, "cumulative_threshold": 0.93}},
	}}
	inp := act("files.read", {}, measured(0.9, 0.9), "a")
	d1 := data.aarm.decision with input as inp with data.aarm.drift as {"profiles": prof}
	d1.decision == "ALLOW"
	d2 := data.aarm.decision with input as json.patch(inp, [{"op": "replace", "path": "/drift/provider", "value": "remote:m"}]) with data.aarm.drift as {"profiles": prof}
	d2.decision == "STEP_UP"
}

test_garbled_providers_defer if {
	prof := {"default": {"distance_threshold": 0.5, "cumulative_threshold": 0.4, "action": "STEP_UP", "providers": {"x": {"distance_threshold": "high"}}}}
	d := data.aarm.decision with input as act("files.read", {}, measured(0.1, 0.1), "a") with data.aarm.drift as {"profiles": prof}
	d.decision == "DEFER"
}
