# Tests of aarm.rules.cross_agent, alone and through the real combiner.
package rules_test.cross_agent

import data.flow_fixtures as fx

chain(n) := [{"sub": concat("", ["agent-", format_int(i, 10)])} | some i in numbers.range(1, n)]

delegated(n) := json.patch(
	fx.act("mail.send", {"to": "bob@acme.com"}, fx.flow(["send"], [fx.inside_email("to", "bob@acme.com")], fx.trusted), "INTERNAL"),
	[{"op": "replace", "path": "/identity/delegation", "value": chain(n)}],
)

test_a_chain_longer_than_the_limit_steps_up if {
	d := fx.decide(delegated(4))
	d.decision == "STEP_UP"
	d.approvers == ["security"]
	d.reasons == [{
		"effect": "STEP_UP",
		"policy_id": "delegation-depth",
		"priority": 50,
		"reason": "agent agent-1 acts through a delegation chain of 4 (agent-1 -> agent-2 -> agent-3 -> agent-4), more than the 3 allowed: confirm that the first of them asked for this",
		"risk": "MEDIUM",
	}]
}

test_the_limit_comes_from_config if {
	fs := data.aarm.rules.cross_agent.findings with input as delegated(2) with data.aarm.catalog.tools as fx.tools with data.aarm.config.max_delegation_depth as 1
	count(fs) == 1
	every garbled in ["1", -1, 1.5, null] {
		gs := data.aarm.rules.cross_agent.findings with input as delegated(3) with data.aarm.catalog.tools as fx.tools with data.aarm.config.max_delegation_depth as garbled
		count(gs) == 0
	}
}

test_links_without_a_subject_are_named_as_unknown if {
	inp := json.patch(delegated(4), [{"op": "replace", "path": "/identity/delegation/1", "value": {"client": "x"}}])
	some f in fx.findings("cross_agent", inp)
	contains(f.reason, "(agent-1 -> ? -> agent-3 -> agent-4)")
}

# --- the benign look-alikes -------------------------------------------------------------------

test_chains_within_the_limit_are_allowed if {
	every n in [0, 1, 3] {
		count(fx.findings("cross_agent", delegated(n))) == 0
		fx.decide(delegated(n)).decision == "ALLOW"
	}
}

test_no_or_garbled_chain_says_nothing if {
	every chain in [null, "a,b,c,d,e", {"sub": "x"}] {
		inp := json.patch(delegated(0), [{"op": "replace", "path": "/identity/delegation", "value": chain}])
		count(fx.findings("cross_agent", inp)) == 0
	}
}

test_an_unknown_tool_keeps_the_default_deny if {
	inp := json.patch(delegated(5), [{"op": "replace", "path": "/action/tool", "value": "nope.tool"}])
	d := fx.decide(inp)
	d.decision == "DENY"
	d["default"] == true
}
