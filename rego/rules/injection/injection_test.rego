# Tests of aarm.rules.injection, alone and through the real combiner.
package rules_test.injection

send(signals) := {"action": {"tool": "email.send", "parameters": {"to": "x@example.com"}}, "signals": signals}

decision(inp) := d if {
	d := data.aarm.decision with input as inp
}

deny(reason) := {
	"decision": "DENY",
	"reasons": [{
		"effect": "DENY",
		"policy_id": "injection-guard",
		"priority": 80,
		"reason": reason,
		"risk": "HIGH",
	}],
	"risk": "HIGH",
}

test_high_score_denies if {
	decision(send({"injection_score": 0.95})) == deny("prompt-injection score above 0.8")
	decision(send({"injection_score": 1})) == deny("prompt-injection score above 0.8")
}

test_low_score_is_allowed if {
	every score in [0, 0.1, 0.8] {
		fs := data.aarm.rules.injection.findings with input as send({"injection_score": score})
		count(fs) == 0
		decision(send({"injection_score": score})).decision == "ALLOW"
	}
}

test_missing_score_says_nothing if {
	fs := data.aarm.rules.injection.findings with input as send({})
	count(fs) == 0
	decision(send({})).decision == "ALLOW"
	decision({"action": {"tool": "email.send"}}).decision == "ALLOW"
}

test_garbled_score_denies if {
	every score in ["0.95", "low", null, true, [0.1]] {
		decision(send({"injection_score": score})) == deny("injection_score is not a number")
	}
}

test_beats_every_context_rule if {
	every inp in [
		{"action": {"tool": "payments.transfer", "parameters": {"amount": 5000}}, "signals": {"injection_score": 0.9}},
		{"action": {"tool": "credentials.rotate"}, "signals": {"injection_score": 0.9}},
		{"action": {"tool": "db.query", "parameters": {"limit": 1000}}, "signals": {"injection_score": 0.9}},
	] {
		d := decision(inp)
		d.decision == "DENY"
		[r.policy_id | some r in d.reasons] == ["injection-guard"]
	}
}

test_applies_to_unknown_tools_too if {
	d := decision({"action": {"tool": "shell.exec"}, "signals": {"injection_score": 0.99}})
	d.decision == "DENY"
	d.reasons[0].policy_id == "injection-guard"
	not d["default"]
}
