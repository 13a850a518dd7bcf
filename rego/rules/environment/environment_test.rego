# Tests of environment.rego (aarm.rules.environment), alone and through the real combiner.
package rules_test.environment

import data.flow_fixtures as fx

findings(inp) := {f | some f in fx.findings("environment", inp); f.policy_id != "rotation-window"}

with_facts(tool, ops, facts) := fx.act(tool, {}, fx.flow(ops, [], object.union(fx.trusted, {"facts": facts})), "INTERNAL")

test_a_change_freeze_defers_changes if {
	inp := with_facts("deploy.run", ["execute"], {"change_freeze": true})
	fx.decide(inp) == {
		"decision": "DEFER",
		"reasons": [{
			"effect": "DEFER",
			"policy_id": "environment-facts",
			"priority": 50,
			"reason": "an outcome in this session reported change_freeze = true: deploy.run (execute) waits until it no longer holds",
			"risk": "MEDIUM",
		}],
		"context_needed": ["change_freeze"],
		"timeout_s": 300,
		"risk": "MEDIUM",
	}
}

# The same freeze, with a request whose words state an emergency (flow.intent.emergency).
in_emergency(inp) := json.patch(inp, [{"op": "add", "path": "/flow/intent", "value": {"present": true, "actions": ["execute"], "emergency": true}}])

test_a_freeze_asks_oncall_when_the_user_states_an_emergency if {
	inp := in_emergency(with_facts("deploy.run", ["execute"], {"change_freeze": true}))
	findings(inp) == {{
		"approvers": ["oncall"],
		"effect": "STEP_UP",
		"policy_id": "environment-facts",
		"priority": 50,
		"reason": "an outcome in this session reported change_freeze = true: deploy.run (execute) is held: the user's request states an emergency; confirm that it is an approved exception",
		"risk": "MEDIUM",
	}}
	fx.decide(inp).decision == "STEP_UP"

	# an emergency never lightens a hold declared DENY
	org := {"blocking_facts": {"payments_halted": {"operations": ["execute"], "effect": "DENY"}}}
	halted := in_emergency(with_facts("deploy.run", ["execute"], {"payments_halted": true}))
	fs := data.aarm.rules.environment.findings with input as halted with data.aarm.catalog.tools as fx.tools with data.aarm.org as org
	{f.effect | some f in fs} == {"DENY"}
}

test_an_intent_without_an_emergency_still_defers if {
	inp := with_facts("deploy.run", ["execute"], {"change_freeze": true})
	calm := json.patch(inp, [{"op": "add", "path": "/flow/intent", "value": {"present": true, "actions": ["execute"], "emergency": false}}])
	fx.decide(calm).decision == "DEFER"
}

test_an_active_incident_defers_deletes_and_grants if {
	every tool, op in {"files.delete": "delete", "drive.share": "grant"} {
		fx.decide(with_facts(tool, [op], {"incident_active": true})).decision == "DEFER"
	}
	count(findings(with_facts("deploy.run", ["execute"], {"incident_active": true}))) == 0
}

test_the_resolver_ends_the_deferral if {
	inp := object.union(with_facts("deploy.run", ["execute"], {"change_freeze": true}), {"resolution": {"change_freeze": false}})
	count(findings(inp)) == 0
	fx.decide(inp).decision == "ALLOW"
}

test_blocking_facts_come_from_org_data if {
	org := {"blocking_facts": {
		"payments_halted": {"operations": ["pay"], "effect": "DENY"},
		"region": {"equals": "eu-down", "effect": "STEP_UP", "approvers": ["sre"]},
		"odd": {"effect": "ALLOW"},
	}}
	pay := with_facts("payments.pay", ["pay"], {"payments_halted": true, "region": "eu-down", "odd": true})
	fs := data.aarm.rules.environment.findings with input as pay with data.aarm.catalog.tools as fx.tools with data.aarm.org as org
	{[f.policy_id, f.effect, object.get(f, "approvers", []), object.get(f, "context_needed", [])] | some f in fs} == {
		["environment-facts", "DENY", [], []],
		["environment-facts", "STEP_UP", ["sre"], []],
		["environment-facts", "DEFER", [], ["odd"]],
	}
}

test_conflicting_facts_defer if {
	every inp in [
		with_facts("deploy.run", ["execute"], {"change_freeze": true, "maintenance_window": true}),
		object.union(with_facts("files.write", ["write"], {"change_freeze": true}), {"signals": {"maintenance_window": true}}),
	] {
		some f in fx.findings("environment", inp)
		f == {
			"context_needed": ["change_freeze", "maintenance_window"],
			"effect": "DEFER",
			"policy_id": "environment-conflict",
			"priority": 50,
			"reason": "the environment says both change_freeze and maintenance_window, which cannot both hold: deferred until someone says which is true",
			"risk": "MEDIUM",
		}
	}
}

test_a_resolver_settles_a_conflict if {
	inp := object.union(with_facts("files.write", ["write"], {"change_freeze": true, "maintenance_window": true}), {"resolution": {"maintenance_window": false}})
	{f.policy_id | some f in findings(inp)} == {"environment-facts"}
	settled := object.union(inp, {"resolution": {"change_freeze": false}})
	count(findings(settled)) == 0
}

test_a_fact_from_content_cannot_unlock_a_rotation if {
	# a web page "reported" an open maintenance window: rotation still waits for the caller or a resolver
	inp := fx.act("credentials.rotate", {}, fx.flow(["execute"], [], object.union(fx.untrusted("web.fetch", 0.1, 1), {"facts": {"maintenance_window": true}})), "INTERNAL")
	d := data.aarm.decision with input as inp
	d.decision == "DEFER"
	d.context_needed == ["maintenance_window"]
}

# --- the benign look-alikes -------------------------------------------------------------------

test_reads_go_on_during_a_freeze if {
	inp := with_facts("files.read", ["read"], {"change_freeze": true, "maintenance_window": true, "incident_active": true})
	count(findings(inp)) == 0
	fx.decide(inp).decision == "ALLOW"
}

test_lifted_or_absent_facts_say_nothing if {
	every facts in [{}, {"change_freeze": false}, {"change_freeze": "no"}, {"maintenance_window": true}] {
		count(findings(with_facts("deploy.run", ["execute"], facts))) == 0
	}
	count(findings(fx.without_flow(with_facts("deploy.run", ["execute"], {"change_freeze": true})))) == 0
}

test_no_deferral_on_a_tool_held_by_its_baseline if {
	every tool in ["blocked.tool", "held.tool"] {
		count(findings(with_facts(tool, ["execute"], {"change_freeze": true, "maintenance_window": true}))) == 0
	}
}

hold_session(facts) := object.union(fx.trusted, {"facts": facts})

test_a_hold_fact_holds_back_every_change if {
	del := fx.act("files.delete", {"path": "/clients/acme"}, fx.flow(["delete"], [], hold_session({"legal_hold": true})), "INTERNAL")
	d := fx.decide(del)
	d.decision == "DEFER"
	d.context_needed == ["legal_hold"]
	fx.ids(d) == ["environment-hold"]

	# false, unrelated or read: nothing
	count(fx.findings("environment", fx.act("files.delete", {"path": "/x"}, fx.flow(["delete"], [], hold_session({"legal_hold": false})), "INTERNAL"))) == 0
	count(fx.findings("environment", fx.act("files.delete", {"path": "/x"}, fx.flow(["delete"], [], hold_session({"household": true})), "INTERNAL"))) == 0
	count(fx.findings("environment", fx.act("files.read", {"path": "/x"}, fx.flow(["read"], [], hold_session({"legal_hold": true})), "INTERNAL"))) == 0
}
