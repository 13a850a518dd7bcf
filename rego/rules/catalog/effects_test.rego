# Tests of the conditional effects of the catalogue (effects.rego), from the shipped
# data (payments.transfer, which replaced the payment_approval pack) and from
# catalogues written here, alone and through the real combiner. input.flow is
# written by hand, as the service sends it (docs/detection.md section 4).
package rules_test.catalog_effects

# --- builders --------------------------------------------------------------------------

transfer(amount) := {"action": {"tool": "payments.transfer", "parameters": {"amount": amount, "to": "acct-1"}}}

decision(inp) := d if {
	d := data.aarm.decision with input as inp
}

# The tool "t" (a send, baseline ALLOW, approvers "owners") with the given effects.
tools(effects) := {"t": {"operation": "send", "default_decision": "ALLOW", "approvers": ["owners"], "effects": effects}}

call(params) := {"action": {"tool": "t", "parameters": params}}

flowing(params, flow) := {"action": {"tool": "t", "parameters": params}, "flow": flow}

# The effects findings for inp, with the tool "t" holding the given effects.
effect_findings(effects, inp) := {f |
	some f in data.aarm.rules.catalog.findings with input as inp with data.aarm.catalog.tools as tools(effects)
	startswith(f.policy_id, "catalog.effects")
}

decide(effects, inp) := d if {
	d := data.aarm.decision with input as inp with data.aarm.catalog.tools as tools(effects)
}

# One entry with the given effect and when.
entry(effect, when) := {"id": "e", "when": when, "effect": effect, "reason": "r"}

# holds(effect, when, inp): the entry fires.
holds(effect, when, inp) if count(effect_findings([entry(effect, when)], inp)) == 1

# The reason of the single entry "e" (STEP_UP) firing on inp.
reason_of(when, inp) := r if {
	[f] := [f | some f in effect_findings([entry("STEP_UP", when)], inp)]
	r := f.reason
}

# A flow value.
value(path, props) := object.union({"path": path, "param": path, "pointer": concat("", ["/", path])}, props)

# --- the shipped payments.transfer (formerly the payment_approval pack) ------------------------

test_large_transfer_steps_up if {
	decision(transfer(5000)) == {
		"decision": "STEP_UP",
		"reasons": [{
			"effect": "STEP_UP",
			"policy_id": "catalog.effects.large-transfer",
			"priority": 50,
			"reason": "transfers above 1000 need the approval of finance (amount 5000 above 1000)",
			"risk": "HIGH",
		}],
		"approvers": ["finance"],
		"four_eyes": false,
		"quorum": 1,
		"timeout_s": 3600,
		"risk": "HIGH",
	}
}

test_the_readme_example if {
	d := decision({"action": {"tool": "payments.transfer", "parameters": {"amount": 5000, "to": "ACME"}}})
	d.decision == "STEP_UP"
	d.approvers == ["finance"]
}

test_small_transfer_is_allowed if {
	every amount in [0, 1, 999.99, 1000] {
		fs := {f | some f in data.aarm.rules.catalog.findings with input as transfer(amount); f.policy_id != "catalog"}
		count(fs) == 0
		decision(transfer(amount)).decision == "ALLOW"
	}
}

test_just_above_threshold_steps_up if {
	decision(transfer(1000.01)).decision == "STEP_UP"
}

test_garbled_amount_steps_up_not_allow if {
	every amount in ["5000", null, true, [5000], {"value": 5000}] {
		d := decision(transfer(amount))
		d.decision == "STEP_UP"
		d.approvers == ["finance"]
		some r in d.reasons
		r.policy_id == "catalog.effects.large-transfer"
		endswith(r.reason, ", counted as above 1000)")
	}
}

test_missing_amount_steps_up if {
	every inp in [{"action": {"tool": "payments.transfer", "parameters": {"to": "acct-1"}}}, {"action": {"tool": "payments.transfer"}}] {
		d := decision(inp)
		d.decision == "STEP_UP"
		d.approvers == ["finance"]
		[r.reason | some r in d.reasons] == [
			"transfers above 1000 need the approval of finance (amount missing, counted as above 1000)",
			"negative transfers need the approval of finance (amount missing, counted as below 0)",
		]
	}
}

test_negative_amount_steps_up if {
	d := decision(transfer(-50))
	d.decision == "STEP_UP"
	d.reasons[0].reason == "negative transfers need the approval of finance (amount -50 below 0)"
}

test_an_amount_object_is_read_as_its_number if {
	d := decision(transfer({"amount": 12000, "currency": "EUR"}))
	d.reasons[0].reason == "transfers above 1000 need the approval of finance (amount 12000 above 1000)"
	decision(transfer({"amount": 10, "currency": "EUR"})).decision == "ALLOW"
}

test_the_flow_amount_is_the_number_of_an_amount_kind if {
	inp := object.union(transfer("12,000.50 EUR"), {"flow": {"amount": {"value": 12000.5, "currency": "EUR"}}})
	decision(inp).reasons[0].reason == "transfers above 1000 need the approval of finance (amount 12000.5 above 1000)"
	small := object.union(transfer("900 EUR"), {"flow": {"amount": {"value": 900, "currency": "EUR"}}})
	decision(small).decision == "ALLOW"
}

test_other_tools_are_not_touched if {
	fs := data.aarm.rules.catalog.findings with input as {"action": {"tool": "email.send", "parameters": {"amount": 1000000}}}
	{f.policy_id | some f in fs} == {"catalog"}
}

test_injection_beats_the_step_up if {
	inp := object.union(transfer(5000), {"signals": {"injection_score": 0.95}})
	d := decision(inp)
	d.decision == "DENY"

	# Decided by the prompt-injection rules, whatever they are called.
	every r in d.reasons {
		not startswith(r.policy_id, "catalog")
	}
}

# --- reasons are built from the data ------------------------------------------------------------

test_a_changed_threshold_changes_the_decision_and_the_reason if {
	raised := json.patch(data.aarm.catalog.tools, [{"op": "replace", "path": "/payments.transfer/effects/0/when/above", "value": 10000}])
	d := data.aarm.decision with input as transfer(5000) with data.aarm.catalog.tools as raised
	d.decision == "ALLOW"
	e := data.aarm.decision with input as transfer(12000) with data.aarm.catalog.tools as raised
	e.reasons[0].reason == "transfers above 1000 need the approval of finance (amount 12000 above 10000)"
	reworded := json.patch(raised, [{
		"op": "replace", "path": "/payments.transfer/effects/0/reason",
		"value": "transfers above 10000 need the approval of finance",
	}])
	f := data.aarm.decision with input as transfer(12000) with data.aarm.catalog.tools as reworded
	f.reasons[0].reason == "transfers above 10000 need the approval of finance (amount 12000 above 10000)"
}

test_what_was_tested_follows_the_when if {
	reason_of({"param": "n", "at_least": 5, "at_most": 1e6}, call({"n": 5})) == "r (n 5 at least 5, n 5 at most 1000000)"
	reason_of({"param": "n", "below": 2.5}, call({"n": 1.25})) == "r (n 1.25 below 2.5)"
}

# --- comparisons ------------------------------------------------------------------------------------

test_comparisons_and_their_bounds if {
	every op, cases in {
		"above": {[1001, true], [1000, false], [-1, false]},
		"at_least": {[1000, true], [999.9, false]},
		"below": {[999, true], [1000, false], [-5, true]},
		"at_most": {[1000, true], [1000.1, false]},
	} {
		every c in cases {
			holds_now(op, c[0]) == c[1]
		}
	}
}

holds_now(op, n) if {
	holds("STEP_UP", {"param": "n", op: 1000}, call({"n": n}))
} else := false

test_a_value_that_is_not_a_number_holds_for_a_restrictive_effect_only if {
	every n in ["12", null, true, [1], {"x": 1}] {
		every op in ["above", "at_least", "below", "at_most"] {
			every effect in ["DENY", "STEP_UP", "DEFER"] {
				holds(effect, {"param": "n", op: 10}, call({"n": n}))
			}
			not holds("ALLOW", {"param": "n", op: 10}, call({"n": n}))
		}
	}
	reason_of({"param": "n", "above": 10}, call({"n": "12"})) == "r (n not a number, counted as above 10)"
	reason_of({"param": "n", "above": 10}, call({})) == "r (n missing, counted as above 10)"
	reason_of({"param": "n", "above": 10}, call({"n": null})) == "r (n missing, counted as above 10)"
}

test_a_modify_on_an_unreadable_value_does_not_fire if {
	e := object.union(entry("MODIFY", {"param": "n", "below": 100}), {"patch": [{"op": "add", "path": "/checked", "value": true}]})
	count(effect_findings([e], call({"n": "5"}))) == 0
	count(effect_findings([e], call({"n": 5}))) == 1
}

test_an_amount_kind_from_the_flow_analysis if {
	inp := flowing({"total": "1.200,00 EUR"}, {"values": [value("total", {"kind": "amount"})], "amount": {"value": 1200, "currency": "EUR"}})
	reason_of({"param": "total", "above": 1000}, inp) == "r (total 1200 above 1000)"

	# A parameter of another kind is read only as a number.
	other := flowing({"n": "1200"}, {"amount": {"value": 1200, "currency": "EUR"}})
	reason_of({"param": "n", "above": 1000}, other) == "r (n not a number, counted as above 1000)"
}

# --- in / not_in ---------------------------------------------------------------------------------------

test_in_and_not_in if {
	when_in := {"param": "currency", "in": ["USD", "eur", 7]}
	every v in ["USD", " usd ", "EUR", 7, ["usd", "eur"]] {
		holds("STEP_UP", when_in, call({"currency": v}))
		not holds("STEP_UP", {"param": "currency", "not_in": ["USD", "eur", 7]}, call({"currency": v}))
	}
	every v in ["GBP", "7", 8, ["usd", "gbp"], {"c": "usd"}] {
		not holds("STEP_UP", when_in, call({"currency": v}))
		holds("STEP_UP", {"param": "currency", "not_in": ["USD", "eur", 7]}, call({"currency": v}))
	}
	reason_of(when_in, call({"currency": "usd"})) == "r (currency is one of USD, eur, 7)"
	reason_of({"param": "c", "not_in": ["a", "b", "c", "d", "e", "f", "g"]}, call({"c": "z"})) == "r (c is none of a, b, c, d, e and 2 more)"
}

test_in_and_not_in_on_a_missing_value_do_not_hold if {
	# an optional parameter left out is not a value of the list, whatever the effect
	every when in [{"param": "c", "in": ["a"]}, {"param": "c", "not_in": ["a"]}] {
		not holds("DENY", when, call({}))
		not holds("STEP_UP", when, call({"c": null}))
		not holds("ALLOW", when, call({"c": null}))
	}
}

# --- matches / not_matches ------------------------------------------------------------------------------

test_matches_and_not_matches if {
	every v in ["DROP TABLE x", "please drop it"] {
		holds("DENY", {"param": "sql", "matches": "(?i)\\bdrop\\b"}, call({"sql": v}))
		not holds("DENY", {"param": "sql", "not_matches": "(?i)\\bdrop\\b"}, call({"sql": v}))
	}
	not holds("DENY", {"param": "sql", "matches": "(?i)\\bdrop\\b"}, call({"sql": "select 1"}))
	holds("DENY", {"param": "sql", "not_matches": "^select "}, call({"sql": "delete from x"}))
	reason_of({"param": "sql", "matches": "^DROP"}, call({"sql": "DROP x"})) == "r (sql matches ^DROP)"
	reason_of({"param": "sql", "not_matches": "^select"}, call({"sql": "DROP x"})) == "r (sql does not match ^select)"
}

test_matches_on_a_value_that_is_not_a_string if {
	every v in [5, ["DROP"]] {
		holds("STEP_UP", {"param": "sql", "matches": "DROP"}, call({"sql": v}))
		holds("STEP_UP", {"param": "sql", "not_matches": "^select"}, call({"sql": v}))
		not holds("ALLOW", {"param": "sql", "not_matches": "DROP"}, call({"sql": v}))
	}
	reason_of({"param": "sql", "matches": "DROP"}, call({"sql": 5})) == "r (sql not a string, counted as matching DROP)"

	# absent: no value to match
	not holds("STEP_UP", {"param": "sql", "matches": "DROP"}, call({"sql": null}))
	not holds("STEP_UP", {"param": "sql", "not_matches": "^select"}, call({}))
}

# --- present --------------------------------------------------------------------------------------------

test_present if {
	holds("ALLOW", {"param": "cc", "present": true}, call({"cc": ""}))
	not holds("ALLOW", {"param": "cc", "present": true}, call({"cc": null}))
	not holds("ALLOW", {"param": "cc", "present": true}, call({}))
	holds("DENY", {"param": "ticket", "present": false}, call({}))
	not holds("DENY", {"param": "ticket", "present": false}, call({"ticket": "T-1"}))
	reason_of({"param": "ticket", "present": false}, call({})) == "r (ticket absent)"
}

# --- destination ---------------------------------------------------------------------------------------

outside_to := value("to", {
	"kind": "email", "destination": true, "inside": false,
	"reason": "domain evil.io is outside the organisation",
})

inside_cc := value("cc", {"kind": "email", "destination": true, "inside": true})

test_destination_outside if {
	inp := flowing({}, {"values": [outside_to, inside_cc]})
	reason_of({"destination": "outside"}, inp) == "r (to: domain evil.io is outside the organisation)"
	not holds("DENY", {"destination": "outside"}, flowing({}, {"values": [inside_cc]}))
	not holds("DENY", {"destination": "outside"}, flowing({}, {"values": []}))

	# Not a destination: not judged.
	not holds("DENY", {"destination": "outside"}, flowing({}, {"values": [object.remove(outside_to, ["destination"])]}))
}

test_destination_outside_fails_closed if {
	# Inside unknown counts as outside; an unreadable destination parameter is outside.
	no_inside := object.remove(outside_to, ["inside", "reason"])
	reason_of({"destination": "outside"}, flowing({}, {"values": [no_inside]})) == "r (to is outside)"
	reason_of({"destination": "outside"}, flowing({}, {"values": [inside_cc], "unreadable": ["bcc"]})) == "r (bcc unreadable)"
}

test_destination_inside if {
	holds("ALLOW", {"destination": "inside"}, flowing({}, {"values": [inside_cc]}))
	reason_of({"destination": "inside"}, flowing({}, {"values": [inside_cc]})) == "r (every destination inside)"
	not holds("ALLOW", {"destination": "inside"}, flowing({}, {"values": [inside_cc, outside_to]}))
	not holds("ALLOW", {"destination": "inside"}, flowing({}, {"values": [inside_cc], "unreadable": ["to"]}))
	not holds("ALLOW", {"destination": "inside"}, flowing({}, {"values": []}))
	not holds("ALLOW", {"destination": "inside"}, flowing({}, {}))
}

test_destination_unregistered if {
	new_payee := value("to", {"kind": "payee", "destination": true, "inside": false, "registered": false, "reason": "payee p-9 is not in the payee register"})
	registered := value("to", {"kind": "payee", "destination": true, "inside": true, "registered": true})
	own := value("iban", {"kind": "account", "destination": true, "inside": true, "registered": false})
	raw := value("iban", {"kind": "account", "destination": true, "inside": false})
	reason_of({"destination": "unregistered"}, flowing({}, {"values": [new_payee]})) == "r (to: payee p-9 is not in the payee register)"
	reason_of({"destination": "unregistered"}, flowing({}, {"values": [raw]})) == "r (iban is unregistered)"
	not holds("STEP_UP", {"destination": "unregistered"}, flowing({}, {"values": [registered, own]}))

	# An outside e-mail address is outside, not an unregistered account.
	not holds("STEP_UP", {"destination": "unregistered"}, flowing({}, {"values": [outside_to]}))
}

# --- origin, analysis, fact, session ------------------------------------------------------------------------

test_origin_untrusted if {
	from_mail := object.union(outside_to, {"origin": "untrusted", "source": {"tool": "mail.read"}})
	reason_of({"origin": "untrusted"}, flowing({}, {"values": [from_mail]})) == "r (to first seen in untrusted output of mail.read)"
	not holds("DENY", {"origin": "untrusted"}, flowing({}, {"values": [object.union(outside_to, {"origin": "intent"})]}))

	# Free text from untrusted content is not a key value.
	body := value("body", {"kind": "text", "origin": "untrusted"})
	not holds("DENY", {"origin": "untrusted"}, flowing({}, {"values": [body]}))
}

test_analysis_flags if {
	sql := value("sql", {"kind": "sql", "flags": ["destructive", "privilege"]})
	cmd := value("command", {"kind": "command", "flags": ["remote_code"]})
	inp := flowing({}, {"values": [sql, cmd]})
	reason_of({"analysis": "destructive"}, inp) == "r (sql flagged destructive)"
	reason_of({"analysis": "privilege"}, inp) == "r (sql flagged privilege)"
	reason_of({"analysis": "remote_code"}, inp) == "r (command flagged remote_code)"
	not holds("DENY", {"analysis": "destructive"}, flowing({}, {"values": [cmd]}))
	not holds("DENY", {"analysis": "destructive"}, flowing({}, {"values": [value("sql", {"kind": "sql", "flags": "destructive"})]}))
}

test_facts if {
	frozen := flowing({}, {"session": {"facts": {"change_freeze": true, "env": "prod"}}})
	reason_of({"fact": "change_freeze"}, frozen) == "r (fact change_freeze is true)"
	reason_of({"fact": "env", "equals": "prod"}, frozen) == "r (fact env is prod)"
	not holds("DEFER", {"fact": "env", "equals": "staging"}, frozen)
	not holds("DEFER", {"fact": "change_freeze", "equals": false}, frozen)
	not holds("DEFER", {"fact": "maintenance"}, frozen)
	not holds("DEFER", {"fact": "change_freeze"}, flowing({}, {"session": {"facts": "change_freeze"}}))
}

test_session_untrusted if {
	read := flowing({}, {"session": {"integrity": "untrusted", "untrusted_sources": ["web.fetch", "mail.read"]}})
	reason_of({"session": "untrusted"}, read) == "r (the session has read untrusted content from mail.read, web.fetch)"
	reason_of({"session": "untrusted"}, flowing({}, {"session": {"integrity": "untrusted"}})) == "r (the session has read untrusted content)"
	not holds("STEP_UP", {"session": "untrusted"}, flowing({}, {"session": {"integrity": "trusted"}}))
}

test_an_unknown_session_integrity_holds_for_a_restrictive_effect_only if {
	every flow in [{}, {"session": {}}, {"session": {"integrity": "TRUSTED"}}, {"session": "x"}] {
		holds("STEP_UP", {"session": "untrusted"}, flowing({}, flow))
		not holds("ALLOW", {"session": "untrusted"}, flowing({}, flow))
	}
	reason_of({"session": "untrusted"}, flowing({}, {})) == "r (the session's integrity is unknown, counted as untrusted)"
}

test_without_a_flow_the_flow_tests_do_not_hold if {
	every when in [
		{"destination": "outside"}, {"destination": "inside"}, {"destination": "unregistered"},
		{"origin": "untrusted"}, {"fact": "change_freeze"}, {"analysis": "destructive"}, {"session": "untrusted"},
	] {
		not holds("DENY", when, call({}))
		not holds("ALLOW", when, call({}))
	}
}

# --- several tests ------------------------------------------------------------------------------------------

test_every_test_of_a_when_must_hold if {
	when := {"param": "amount", "above": 100, "destination": "outside", "session": "untrusted"}
	inp := flowing({"amount": 500}, {"values": [outside_to], "session": {"integrity": "untrusted"}})
	reason_of(when, inp) == "r (amount 500 above 100, to: domain evil.io is outside the organisation, the session has read untrusted content)"
	not holds("STEP_UP", when, flowing({"amount": 50}, {"values": [outside_to], "session": {"integrity": "untrusted"}}))
	not holds("STEP_UP", when, flowing({"amount": 500}, {"values": [inside_cc], "session": {"integrity": "untrusted"}}))
	not holds("STEP_UP", when, flowing({"amount": 500}, {"values": [outside_to], "session": {"integrity": "trusted"}}))
}

test_several_entries_fire_independently if {
	effects := [
		{"id": "big", "when": {"param": "n", "above": 10}, "effect": "STEP_UP", "reason": "big"},
		{"id": "huge", "when": {"param": "n", "above": 100}, "effect": "DENY", "reason": "huge"},
	]
	{f.policy_id | some f in effect_findings(effects, call({"n": 50}))} == {"catalog.effects.big"}
	{f.policy_id | some f in effect_findings(effects, call({"n": 500}))} == {"catalog.effects.big", "catalog.effects.huge"}
	decide(effects, call({"n": 500})).decision == "DENY"
}

# --- the finding ---------------------------------------------------------------------------------------------

test_a_step_up_takes_the_tools_approvers_unless_it_names_its_own if {
	effect_findings([entry("STEP_UP", {"param": "n", "above": 1})], call({"n": 2})) == {{
		"approvers": ["owners"],
		"effect": "STEP_UP",
		"policy_id": "catalog.effects.e",
		"priority": 50,
		"reason": "r (n 2 above 1)",
	}}
	own := object.union(entry("STEP_UP", {"param": "n", "above": 1}), {
		"approvers": ["finance"], "quorum": 2, "four_eyes": true, "timeout_s": 600, "risk": "HIGH",
		"description": "not on the finding",
	})
	effect_findings([own], call({"n": 2})) == {{
		"approvers": ["finance"],
		"effect": "STEP_UP",
		"four_eyes": true,
		"policy_id": "catalog.effects.e",
		"priority": 50,
		"quorum": 2,
		"reason": "r (n 2 above 1)",
		"risk": "HIGH",
		"timeout_s": 600,
	}}
	d := decide([own], call({"n": 2}))
	[d.decision, d.approvers, d.quorum, d.four_eyes, d.timeout_s] == ["STEP_UP", ["finance"], 2, true, 600]
}

test_modify_defer_deny_and_priority if {
	patch := [{"op": "replace", "path": "/cc", "value": []}]
	m := decide([object.union(entry("MODIFY", {"param": "cc", "present": true}), {"patch": patch})], call({"cc": ["x"]}))
	[m.decision, m.patch] == ["MODIFY", patch]
	df := decide([object.union(entry("DEFER", {"param": "ticket", "present": false}), {"context_needed": ["ticket"], "timeout_s": 60})], call({}))
	[df.decision, df.context_needed, df.timeout_s] == ["DEFER", ["ticket"], 60]
	forbidden := object.union(entry("DENY", {"param": "n", "above": 1}), {"forbidden": true, "priority": "baseline"})
	[f] := [f | some f in effect_findings([forbidden], call({"n": 2}))]
	[f.forbidden, f.priority] == [true, 0]
	high := object.union(entry("ALLOW", {"param": "n", "above": 1}), {"priority": 90})
	[g] := [g | some g in effect_findings([high], call({"n": 2}))]
	g.priority == 90
}

# --- fail closed -----------------------------------------------------------------------------------------------

# malformed(effects, reason_part): the tool gets a forbidden DENY whose reason holds
# reason_part, whatever the parameters, and the decision is DENY.
malformed(effects, part) if {
	some f in effect_findings(effects, call({}))
	f.policy_id == "catalog.effects"
	f.forbidden == true
	f.effect == "DENY"
	f.risk == "HIGH"
	contains(f.reason, part)
	decide(effects, call({})).decision == "DENY"
}

test_effects_that_are_not_an_array if {
	every effects in [{"id": "e"}, "x", 5, null] {
		malformed(effects, "tool t has a malformed catalogue entry (effects is not an array): denied")
	}
}

test_malformed_entries_are_named if {
	ok := {"param": "n", "above": 1}
	every e, part in {
		"x": "effects[0] (it is not an object)",
		{"when": ok, "effect": "DENY", "reason": "r"}: "effects[0] (id is missing or not a non-empty string)",
		{"id": "", "when": ok, "effect": "DENY", "reason": "r"}: "effects[0] (id is missing",
		{"id": "e", "when": ok, "reason": "r"}: "effects[0] e (effect is missing or not one of ALLOW, DENY, MODIFY, STEP_UP, DEFER)",
		{"id": "e", "when": ok, "effect": "deny", "reason": "r"}: "effects[0] e (effect is missing or not one of",
		{"id": "e", "when": ok, "effect": "DENY"}: "effects[0] e (reason is missing or not a string)",
		{"id": "e", "when": ok, "effect": "DENY", "reason": "r", "approver": ["x"]}: "effects[0] e (unknown key approver)",
		{"id": "e", "when": ok, "effect": "DENY", "reason": "r", "priority": "high"}: "effects[0] e (priority is not a number nor one of baseline, context, compositional)",
		{"id": "e", "when": ok, "effect": "STEP_UP", "reason": "r", "patch": []}: "effects[0] e (patch cannot go with effect STEP_UP)",
		{"id": "e", "when": ok, "effect": "DENY", "reason": "r", "approvers": ["x"]}: "effects[0] e (approvers cannot go with effect DENY)",
		{"id": "e", "when": ok, "effect": "MODIFY", "reason": "r"}: "effects[0] e (its finding would be malformed: MODIFY without a patch array of valid RFC 6902 operations)",
		{"id": "e", "when": ok, "effect": "STEP_UP", "reason": "r", "quorum": 0}: "effects[0] e (its finding would be malformed: quorum is not a whole number of at least 1)",
		{"id": "e", "when": ok, "effect": "STEP_UP", "reason": "r", "forbidden": true}: "effects[0] e (its finding would be malformed: forbidden must be a boolean, and true only on a DENY)",
		{"id": "e", "when": ok, "effect": "DENY", "reason": "r", "risk": "SEVERE"}: "effects[0] e (its finding would be malformed: risk is not one of",
		{"id": "e", "effect": "DENY", "reason": "r"}: "effects[0] e (when is missing or not an object)",
		{"id": "e", "when": [ok], "effect": "DENY", "reason": "r"}: "effects[0] e (when is missing or not an object)",
		{"id": "e", "when": {}, "effect": "DENY", "reason": "r"}: "effects[0] e (when holds no test)",
		{"id": "e", "when": {"param": "n"}, "effect": "DENY", "reason": "r"}: "effects[0] e (when holds no test)",
	} {
		malformed([e], concat("", ["tool t has a malformed effects entry ", part]))
	}
}

test_malformed_whens_are_named if {
	every when, part in {
		{"param": "n", "greater_than": 1}: "when: unknown test greater_than",
		{"destination": "outside", "role": "x"}: "when: unknown test role",
		{"above": 1}: "when: param is missing or not a non-empty string",
		{"param": 5, "above": 1}: "when: param is missing or not a non-empty string",
		{"param": "n", "destination": "outside"}: "when: param without a test of it",
		{"param": "n", "above": "1000"}: "when: above not a number",
		{"param": "n", "at_least": null, "at_most": "x"}: "when: at_least, at_most not a number",
		{"param": "n", "in": "a"}: "when: in not an array",
		{"param": "n", "not_in": {"a": 1}}: "when: not_in not an array",
		{"param": "n", "matches": "("}: "when: matches not a valid regular expression",
		{"param": "n", "not_matches": 5}: "when: not_matches not a valid regular expression",
		{"param": "n", "present": "yes"}: "when: present is not a boolean",
		{"destination": "external"}: "when: destination is not one of outside, inside, unregistered",
		{"origin": "trusted"}: "when: origin is not untrusted",
		{"fact": ""}: "when: fact is not a non-empty string",
		{"param": "n", "present": true, "equals": 1}: "when: equals without fact",
		{"analysis": "dangerous"}: "when: analysis is not one of destructive, privilege, remote_code",
		{"session": true}: "when: session is not untrusted",
	} {
		malformed([entry("STEP_UP", when)], concat("", ["effects[0] e (", part]))
	}
}

test_duplicate_ids_and_the_place_of_an_entry if {
	e := entry("STEP_UP", {"param": "n", "above": 1})
	malformed([e, e], "effects[0] e (id e is used by another effects entry)")
	malformed([e, e], "effects[1] e (id e is used by another effects entry)")
	good := {"id": "ok", "when": {"param": "n", "above": 1}, "effect": "STEP_UP", "reason": "r"}
	malformed([good, {"id": "bad"}], "effects[1] bad (effect is missing")
}

test_a_malformed_entry_denies_even_when_its_when_does_not_hold_and_the_others_are_fine if {
	good := {"id": "ok", "when": {"param": "n", "above": 1000}, "effect": "ALLOW", "reason": "r"}
	bad := {"id": "bad", "when": {"param": "n", "above": "1000"}, "effect": "ALLOW", "reason": "r"}
	d := decide([good, bad], call({"n": 1}))
	d.decision == "DENY"
	[r.policy_id | some r in d.reasons] == ["catalog.effects"]

	# The malformed entry itself never fires.
	not "catalog.effects.bad" in {f.policy_id | some f in effect_findings([good, bad], call({"n": 5000}))}
}

test_the_shipped_effects_are_well_formed if {
	every tool, _ in data.aarm.catalog.tools {
		fs := data.aarm.rules.catalog.findings with input as {"action": {"tool": tool, "parameters": {"amount": 1}}}
		every f in fs {
			f.policy_id != "catalog.effects"
		}
	}
}
