# Tests of the core library: every step of the precedence, the outcome fields,
# the default posture with and without configuration, and fail-closed handling of
# malformed findings. Findings are injected with `with data.aarm.rules as ...`, so
# the shipped rule pack does not take part. Test packages live outside aarm.rules
# (a test package below aarm.rules would be collected as a rule package).
package aarm_test

# --- builders --------------------------------------------------------------

# One rule package "p" holding the given findings.
rules(fs) := {"p": {"findings": fs}}

finding(effect, id, prio) := {"effect": effect, "policy_id": id, "priority": prio, "reason": concat(" ", [id, effect])}

reason(effect, id, prio) := {"effect": effect, "policy_id": id, "priority": prio, "reason": concat(" ", [id, effect])}

default_reason(d) := {
	"effect": d,
	"policy_id": "aarm.default",
	"priority": 0,
	"reason": concat("", ["no policy matched this action: default posture ", d]),
}

conflict_reason(prio) := {
	"effect": "DEFER",
	"policy_id": "aarm.conflict",
	"priority": prio,
	"reason": "ALLOW and DENY findings at the same highest priority: deferred until the conflict is resolved",
}

decide(fs) := d if {
	d := data.aarm.decision with data.aarm.rules as rules(fs)
}

# --- 5. the default posture ------------------------------------------------

test_no_finding_shipped_config_denies if {
	decide(set()) == {"decision": "DENY", "reasons": [default_reason("DENY")], "default": true}
}

test_no_rule_packages_at_all_denies if {
	v1 := data.aarm.decision with data.aarm.rules as {}
	v1 == {"decision": "DENY", "reasons": [default_reason("DENY")], "default": true}
}

test_default_without_config_data_is_deny if {
	d := data.aarm.decision with data.aarm.rules as rules(set()) with data.aarm.config as {}
	d == {"decision": "DENY", "reasons": [default_reason("DENY")], "default": true}
}

test_default_with_null_config_is_deny if {
	d := data.aarm.decision with data.aarm.rules as rules(set()) with data.aarm.config as null
	d.decision == "DENY"
	d["default"] == true
}

test_default_configured_allow if {
	d := data.aarm.decision with data.aarm.rules as rules(set()) with data.aarm.config as {"default_decision": "ALLOW"}
	d == {"decision": "ALLOW", "reasons": [default_reason("ALLOW")], "default": true}
}

test_default_garbage_is_deny if {
	every v in ["MAYBE", "allow", "", 1, true, null, ["ALLOW"], {"ALLOW": true}] {
		d := data.aarm.decision with data.aarm.rules as rules(set()) with data.aarm.config as {"default_decision": v}
		d == {"decision": "DENY", "reasons": [default_reason("DENY")], "default": true}
	}
}

test_default_step_up_uses_configured_timeout if {
	d := data.aarm.decision with data.aarm.rules as rules(set()) with data.aarm.config as {"default_decision": "STEP_UP", "step_up_timeout_s": 120}
	d == {
		"decision": "STEP_UP", "reasons": [default_reason("STEP_UP")], "default": true,
		"approvers": [], "four_eyes": false, "quorum": 1, "timeout_s": 120,
	}
}

test_default_defer_uses_default_timeout_without_config if {
	d := data.aarm.decision with data.aarm.rules as rules(set()) with data.aarm.config as {"default_decision": "DEFER"}
	d == {
		"decision": "DEFER", "reasons": [default_reason("DEFER")], "default": true,
		"context_needed": [], "timeout_s": 300,
	}
}

test_garbage_timeouts_fall_back_to_defaults if {
	d := data.aarm.decision with data.aarm.rules as rules(set()) with data.aarm.config as {"default_decision": "STEP_UP", "step_up_timeout_s": "soon"}
	d.timeout_s == 3600
	e := data.aarm.decision with data.aarm.rules as rules(set()) with data.aarm.config as {"default_decision": "DEFER", "defer_timeout_s": -5}
	e.timeout_s == 300
}

test_config_helpers_defaults if {
	v2 := data.aarm.default_decision with data.aarm.config as {}
	v2 == "DENY"
	v3 := data.aarm.step_up_timeout_s with data.aarm.config as {}
	v3 == 3600
	v4 := data.aarm.defer_timeout_s with data.aarm.config as {}
	v4 == 300
}

# --- 4. each effect alone ----------------------------------------------------

test_allow_alone if {
	decide({finding("ALLOW", "a", 0)}) == {"decision": "ALLOW", "reasons": [reason("ALLOW", "a", 0)]}
}

test_deny_alone if {
	decide({finding("DENY", "d", 0)}) == {"decision": "DENY", "reasons": [reason("DENY", "d", 0)]}
}

test_modify_alone if {
	f := object.union(finding("MODIFY", "m", 50), {"patch": [{"op": "remove", "path": "/cc"}]})
	decide({f}) == {
		"decision": "MODIFY",
		"reasons": [reason("MODIFY", "m", 50)],
		"patch": [{"op": "remove", "path": "/cc"}],
	}
}

test_step_up_alone if {
	f := object.union(finding("STEP_UP", "s", 50), {"approvers": ["finance"], "timeout_s": 600, "risk": "HIGH"})
	decide({f}) == {
		"decision": "STEP_UP",
		"reasons": [object.union(reason("STEP_UP", "s", 50), {"risk": "HIGH"})],
		"approvers": ["finance"],
		"four_eyes": false,
		"quorum": 1,
		"timeout_s": 600,
		"risk": "HIGH",
	}
}

test_defer_alone if {
	f := object.union(finding("DEFER", "w", 50), {"context_needed": ["ticket"]})
	decide({f}) == {
		"decision": "DEFER",
		"reasons": [reason("DEFER", "w", 50)],
		"context_needed": ["ticket"],
		"timeout_s": 300,
	}
}

test_priority_defaults_to_zero if {
	d := decide({{"effect": "ALLOW", "policy_id": "a", "reason": "r"}})
	d.reasons == [{"effect": "ALLOW", "policy_id": "a", "priority": 0, "reason": "r"}]
	not d["default"]
}

# --- 1. forbidden ------------------------------------------------------------

test_forbidden_beats_higher_priority_allow if {
	forbidden := object.union(finding("DENY", "f", 0), {"forbidden": true})
	d := decide({forbidden, finding("ALLOW", "a", 80), finding("STEP_UP", "s", 80)})
	d == {"decision": "DENY", "reasons": [reason("DENY", "f", 0)]}
}

test_forbidden_reasons_are_only_the_forbidden_ones_sorted if {
	f1 := object.union(finding("DENY", "zz", 0), {"forbidden": true})
	f2 := object.union(finding("DENY", "aa", 10), {"forbidden": true, "risk": "CRITICAL"})
	d := decide({f1, f2, finding("DENY", "plain", 90)})
	d == {
		"decision": "DENY",
		"reasons": [object.union(reason("DENY", "aa", 10), {"risk": "CRITICAL"}), reason("DENY", "zz", 0)],
		"risk": "CRITICAL",
	}
}

test_forbidden_false_is_an_ordinary_deny if {
	f := object.union(finding("DENY", "d", 0), {"forbidden": false})
	d := decide({f, finding("ALLOW", "a", 50)})
	d.decision == "ALLOW"
}

# --- 2. the highest priority wins --------------------------------------------

test_higher_priority_allow_beats_lower_deny if {
	decide({finding("DENY", "d", 0), finding("ALLOW", "a", 50)}) == {"decision": "ALLOW", "reasons": [reason("ALLOW", "a", 50)]}
}

test_higher_priority_deny_beats_lower_allow if {
	decide({finding("ALLOW", "a", 0), finding("DENY", "d", 50)}) == {"decision": "DENY", "reasons": [reason("DENY", "d", 50)]}
}

test_higher_priority_step_up_beats_lower_deny if {
	d := decide({finding("DENY", "d", 50), finding("STEP_UP", "s", 80)})
	d.decision == "STEP_UP"
	d.reasons == [reason("STEP_UP", "s", 80)]
}

test_fractional_and_negative_priorities if {
	decide({finding("DENY", "d", -1), finding("ALLOW", "a", 0.5)}).decision == "ALLOW"
}

test_lower_priority_conflict_is_ignored if {
	d := decide({finding("ALLOW", "a", 0), finding("DENY", "d", 0), object.union(finding("MODIFY", "m", 50), {"patch": []})})
	d == {"decision": "MODIFY", "reasons": [reason("MODIFY", "m", 50)], "patch": []}
}

# --- 3. ALLOW and DENY at the same priority ------------------------------------

test_same_priority_allow_and_deny_defer if {
	d := decide({finding("ALLOW", "a", 50), finding("DENY", "d", 50), finding("ALLOW", "a0", 0)})
	d == {
		"decision": "DEFER",
		"reasons": [reason("ALLOW", "a", 50), conflict_reason(50), reason("DENY", "d", 50)],
		"context_needed": [],
		"timeout_s": 300,
	}
}

test_conflict_names_both_sides_and_ignores_other_effects if {
	d := decide({
		finding("ALLOW", "x-allow", 0),
		finding("DENY", "b-deny", 0),
		object.union(finding("STEP_UP", "s", 0), {"approvers": ["ops"]}),
	})
	d.decision == "DEFER"
	[r.policy_id | some r in d.reasons] == ["aarm.conflict", "b-deny", "x-allow"]
}

# --- 4. the most restrictive ---------------------------------------------------

mixed(effects) := {f |
	some e in effects
	f := object.union(finding(e, lower(e), 50), extra(e))
}

extra("MODIFY") := {"patch": []}

extra(e) := {} if e != "MODIFY"

test_restrictiveness_order if {
	decide(mixed({"DENY", "DEFER", "STEP_UP", "MODIFY"})).decision == "DENY"
	decide(mixed({"DEFER", "STEP_UP", "MODIFY", "ALLOW"})).decision == "DEFER"
	decide(mixed({"STEP_UP", "MODIFY", "ALLOW"})).decision == "STEP_UP"
	decide(mixed({"MODIFY", "ALLOW"})).decision == "MODIFY"
	decide(mixed({"ALLOW"})).decision == "ALLOW"
}

test_most_restrictive_reasons_are_that_effect_only if {
	d := decide(mixed({"DEFER", "STEP_UP", "MODIFY", "ALLOW"}))
	d.reasons == [reason("DEFER", "defer", 50)]
	d.context_needed == []
}

test_deny_among_others_without_allow if {
	d := decide(mixed({"DENY", "STEP_UP"}))
	d == {"decision": "DENY", "reasons": [reason("DENY", "deny", 50)]}
}

# --- MODIFY: patch order --------------------------------------------------------

test_modify_patches_concatenate_by_policy_id_then_reason if {
	b := {"effect": "MODIFY", "policy_id": "b", "reason": "r", "patch": [{"op": "add", "path": "/b", "value": 1}]}
	a2 := {"effect": "MODIFY", "policy_id": "a", "reason": "z", "patch": [{"op": "add", "path": "/a2", "value": 2}]}
	a1 := {"effect": "MODIFY", "policy_id": "a", "reason": "m", "patch": [
		{"op": "add", "path": "/a1", "value": 1},
		{"op": "remove", "path": "/x"},
	]}

	# the findings come from two packages; the order is by policy_id, then reason
	d := data.aarm.decision with data.aarm.rules as {"q": {"findings": {b, a2}}, "p": {"findings": {a1}}}
	d.decision == "MODIFY"
	d.patch == [
		{"op": "add", "path": "/a1", "value": 1},
		{"op": "remove", "path": "/x"},
		{"op": "add", "path": "/a2", "value": 2},
		{"op": "add", "path": "/b", "value": 1},
	]
	[[r.policy_id, r.reason] | some r in d.reasons] == [["a", "m"], ["a", "z"], ["b", "r"]]
}

test_modify_patch_only_from_deciding_findings if {
	low := {"effect": "MODIFY", "policy_id": "low", "reason": "r", "priority": 0, "patch": [{"op": "remove", "path": "/low"}]}
	high := {"effect": "MODIFY", "policy_id": "high", "reason": "r", "priority": 50, "patch": [{"op": "remove", "path": "/high"}]}
	decide({low, high}).patch == [{"op": "remove", "path": "/high"}]
}

test_all_patch_op_kinds_accepted if {
	f := {"effect": "MODIFY", "policy_id": "m", "reason": "r", "patch": [
		{"op": "add", "path": "/a", "value": null},
		{"op": "remove", "path": "/b"},
		{"op": "replace", "path": "/c", "value": false},
		{"op": "move", "from": "/d", "path": "/e"},
		{"op": "copy", "from": "/f", "path": "/g"},
		{"op": "test", "path": "/h", "value": 1},
	]}
	d := decide({f})
	d.decision == "MODIFY"
	count(d.patch) == 6
}

# --- STEP_UP and DEFER fields ------------------------------------------------------

test_step_up_approvers_union_and_smallest_timeout if {
	s1 := {"effect": "STEP_UP", "policy_id": "s1", "reason": "r", "approvers": ["security", "finance"], "timeout_s": 900}
	s2 := {"effect": "STEP_UP", "policy_id": "s2", "reason": "r", "approvers": ["finance", "cfo"], "timeout_s": 300}
	s3 := {"effect": "STEP_UP", "policy_id": "s3", "reason": "r"}
	d := decide({s1, s2, s3, object.union(finding("MODIFY", "m", 0), {"patch": []})})
	d.decision == "STEP_UP"
	d.approvers == ["cfo", "finance", "security"]
	d.timeout_s == 300
	not d.patch
}

test_step_up_without_timeout_uses_config if {
	s := {"effect": "STEP_UP", "policy_id": "s", "reason": "r", "approvers": ["ops"]}
	decide({s}).timeout_s == 3600
	d := data.aarm.decision with data.aarm.rules as rules({s}) with data.aarm.config as {"step_up_timeout_s": 42}
	d.timeout_s == 42
	d.approvers == ["ops"]
}

test_step_up_quorum_is_the_largest_and_four_eyes_any if {
	s1 := {"effect": "STEP_UP", "policy_id": "s1", "reason": "r", "approvers": ["finance"], "quorum": 2}
	s2 := {"effect": "STEP_UP", "policy_id": "s2", "reason": "r", "quorum": 3, "four_eyes": false}
	s3 := {"effect": "STEP_UP", "policy_id": "s3", "reason": "r", "four_eyes": true}
	d := decide({s1, s2, s3})
	d == {
		"decision": "STEP_UP",
		"reasons": [
			{"effect": "STEP_UP", "policy_id": "s1", "priority": 0, "reason": "r"},
			{"effect": "STEP_UP", "policy_id": "s2", "priority": 0, "reason": "r"},
			{"effect": "STEP_UP", "policy_id": "s3", "priority": 0, "reason": "r"},
		],
		"approvers": ["finance"],
		"four_eyes": true,
		"quorum": 3,
		"timeout_s": 3600,
	}
}

test_step_up_quorum_defaults_to_1_and_four_eyes_to_false if {
	d := decide({{"effect": "STEP_UP", "policy_id": "s", "reason": "r", "four_eyes": false}})
	d.quorum == 1
	d.four_eyes == false
	e := decide({{"effect": "STEP_UP", "policy_id": "s", "reason": "r", "quorum": 1.0}})
	e.quorum == 1
}

test_step_up_extras_only_from_deciding_step_up_findings if {
	low := {"effect": "STEP_UP", "policy_id": "low", "reason": "r", "priority": 0, "quorum": 5, "four_eyes": true}
	high := {"effect": "STEP_UP", "policy_id": "high", "reason": "r", "priority": 50}
	d := decide({low, high})
	d.quorum == 1
	d.four_eyes == false

	# on another effect the fields are checked but not used
	deny := {"effect": "DENY", "policy_id": "d", "reason": "r", "quorum": 2, "four_eyes": true}
	x := decide({deny})
	x == {"decision": "DENY", "reasons": [{"effect": "DENY", "policy_id": "d", "priority": 0, "reason": "r"}]}
}

test_quorum_and_four_eyes_not_in_reasons if {
	f := {"effect": "STEP_UP", "policy_id": "s", "reason": "r", "quorum": 2, "four_eyes": true}
	decide({f}).reasons == [{"effect": "STEP_UP", "policy_id": "s", "priority": 0, "reason": "r"}]
}

test_malformed_quorum_and_four_eyes if {
	every q in [0, -1, 1.5, "2", null, true, [2]] {
		malformed_denies({"effect": "STEP_UP", "policy_id": "x", "reason": "r", "quorum": q})
	}
	every b in ["true", 1, null, [true]] {
		malformed_denies({"effect": "STEP_UP", "policy_id": "x", "reason": "r", "four_eyes": b})
	}
	d := decide({{"effect": "STEP_UP", "policy_id": "x", "reason": "r", "quorum": 0}})
	d.reasons[0].reason == "malformed finding from aarm.rules.p (policy_id x): quorum is not a whole number of at least 1"
	e := decide({{"effect": "STEP_UP", "policy_id": "x", "reason": "r", "four_eyes": "yes"}})
	e.reasons[0].reason == "malformed finding from aarm.rules.p (policy_id x): four_eyes is not a boolean"
}

test_defer_context_union_and_smallest_timeout if {
	d1 := {"effect": "DEFER", "policy_id": "d1", "reason": "r", "context_needed": ["ticket", "window"], "timeout_s": 120}
	d2 := {"effect": "DEFER", "policy_id": "d2", "reason": "r", "context_needed": ["approver_note", "window"], "timeout_s": 60.5}
	d := decide({d1, d2})
	d.decision == "DEFER"
	d.context_needed == ["approver_note", "ticket", "window"]
	d.timeout_s == 60.5
}

test_defer_without_timeout_uses_config if {
	f := {"effect": "DEFER", "policy_id": "d", "reason": "r"}
	d := data.aarm.decision with data.aarm.rules as rules({f}) with data.aarm.config as {"defer_timeout_s": 30}
	d == {"decision": "DEFER", "reasons": [{"effect": "DEFER", "policy_id": "d", "priority": 0, "reason": "r"}], "context_needed": [], "timeout_s": 30}
}

# --- risk -----------------------------------------------------------------------------

test_risk_is_highest_of_deciding_findings if {
	a := object.union(finding("DENY", "a", 50), {"risk": "LOW"})
	b := object.union(finding("DENY", "b", 50), {"risk": "HIGH"})
	c := object.union(finding("ALLOW", "c", 0), {"risk": "CRITICAL"})
	decide({a, b, c}).risk == "HIGH"
}

test_no_risk_field_without_risk if {
	d := decide({finding("ALLOW", "a", 0)})
	not d.risk
}

# --- reasons order ---------------------------------------------------------------------

test_reasons_sorted_by_policy_id_then_reason if {
	fs := {
		{"effect": "DENY", "policy_id": "b", "reason": "a"},
		{"effect": "DENY", "policy_id": "a", "reason": "z"},
		{"effect": "DENY", "policy_id": "a", "reason": "b"},
	}
	[[r.policy_id, r.reason] | some r in decide(fs).reasons] == [["a", "b"], ["a", "z"], ["b", "a"]]
}

test_reasons_keep_only_the_documented_fields if {
	f := {
		"effect": "STEP_UP", "policy_id": "s", "reason": "r", "approvers": ["x"],
		"timeout_s": 5, "risk": "LOW", "custom": "ignored",
	}
	decide({f}).reasons == [{"effect": "STEP_UP", "policy_id": "s", "priority": 0, "reason": "r", "risk": "LOW"}]
}

# --- rule packages at any depth ------------------------------------------------------------

test_nested_rule_packages_are_collected if {
	tree := {
		"top": {"findings": {finding("ALLOW", "top", 0)}},
		"team": {"sub": {"deep": {"findings": {finding("DENY", "deep", 50)}}}},
	}
	d := data.aarm.decision with data.aarm.rules as tree
	d == {"decision": "DENY", "reasons": [reason("DENY", "deep", 50)]}
}

test_package_with_findings_and_subpackage if {
	tree := {"a": {
		"findings": {finding("STEP_UP", "outer", 0)},
		"b": {"findings": {finding("STEP_UP", "inner", 0)}},
	}}
	d := data.aarm.decision with data.aarm.rules as tree
	[r.policy_id | some r in d.reasons] == ["inner", "outer"]
}

test_other_documents_under_rules_are_ignored if {
	tree := {"p": {
		"threshold": 10,
		"settings": {"limits": [1, 2]},
		"findings": {finding("ALLOW", "a", 0)},
	}}
	d := data.aarm.decision with data.aarm.rules as tree
	d.decision == "ALLOW"
}

test_empty_findings_set_means_default if {
	decide(set())["default"] == true
}

# --- fail closed: malformed findings -----------------------------------------------------------

malformed_denies(f) if {
	d := decide({f, finding("ALLOW", "ok", 80)})
	d.decision == "DENY"
	count(d.reasons) > 0
	every r in d.reasons {
		r.policy_id == "aarm.malformed_finding"
		r.effect == "DENY"
	}
	not d["default"]
}

test_malformed_not_an_object if {
	malformed_denies("DENY")
	malformed_denies(["ALLOW"])
	malformed_denies(null)
}

test_malformed_missing_or_unknown_effect if {
	malformed_denies({"policy_id": "x", "reason": "r"})
	malformed_denies({"effect": "BLOCK", "policy_id": "x", "reason": "r"})
	malformed_denies({"effect": "allow", "policy_id": "x", "reason": "r"})
	malformed_denies({"effect": 1, "policy_id": "x", "reason": "r"})
}

test_malformed_missing_policy_id_or_reason if {
	malformed_denies({"effect": "ALLOW", "reason": "r"})
	malformed_denies({"effect": "ALLOW", "policy_id": 7, "reason": "r"})
	malformed_denies({"effect": "ALLOW", "policy_id": "x"})
	malformed_denies({"effect": "ALLOW", "policy_id": "x", "reason": ["r"]})
}

test_malformed_priority if {
	malformed_denies({"effect": "ALLOW", "policy_id": "x", "reason": "r", "priority": "50"})
	malformed_denies({"effect": "ALLOW", "policy_id": "x", "reason": "r", "priority": null})
}

test_malformed_modify_patch if {
	malformed_denies({"effect": "MODIFY", "policy_id": "x", "reason": "r"})
	malformed_denies({"effect": "MODIFY", "policy_id": "x", "reason": "r", "patch": {"op": "remove", "path": "/a"}})
	malformed_denies({"effect": "MODIFY", "policy_id": "x", "reason": "r", "patch": [{"op": "delete", "path": "/a"}]})
	malformed_denies({"effect": "MODIFY", "policy_id": "x", "reason": "r", "patch": [{"op": "add", "path": "/a"}]})
	malformed_denies({"effect": "MODIFY", "policy_id": "x", "reason": "r", "patch": [{"op": "move", "path": "/a"}]})
	malformed_denies({"effect": "MODIFY", "policy_id": "x", "reason": "r", "patch": [{"op": "remove"}]})
	malformed_denies({"effect": "MODIFY", "policy_id": "x", "reason": "r", "patch": ["remove /a"]})
}

test_malformed_forbidden if {
	malformed_denies({"effect": "ALLOW", "policy_id": "x", "reason": "r", "forbidden": true})
	malformed_denies({"effect": "DENY", "policy_id": "x", "reason": "r", "forbidden": "yes"})
}

test_malformed_risk_approvers_context_timeout if {
	malformed_denies({"effect": "DENY", "policy_id": "x", "reason": "r", "risk": "EXTREME"})
	malformed_denies({"effect": "STEP_UP", "policy_id": "x", "reason": "r", "approvers": "finance"})
	malformed_denies({"effect": "STEP_UP", "policy_id": "x", "reason": "r", "approvers": [1]})
	malformed_denies({"effect": "DEFER", "policy_id": "x", "reason": "r", "context_needed": "ticket"})
	malformed_denies({"effect": "DEFER", "policy_id": "x", "reason": "r", "timeout_s": 0})
	malformed_denies({"effect": "STEP_UP", "policy_id": "x", "reason": "r", "timeout_s": "1h"})
}

test_malformed_reason_names_package_and_policy_id if {
	d := data.aarm.decision with data.aarm.rules as {"team": {"pay": {"findings": {{"effect": "NOPE", "policy_id": "pay-check", "reason": "r"}}}}}
	d == {"decision": "DENY", "reasons": [{
		"effect": "DENY",
		"policy_id": "aarm.malformed_finding",
		"priority": 0,
		"reason": "malformed finding from aarm.rules.team.pay (policy_id pay-check): effect missing or not one of ALLOW, DENY, MODIFY, STEP_UP, DEFER",
	}]}
}

test_malformed_without_policy_id_says_unknown if {
	d := decide({42})
	d.reasons[0].reason == "malformed finding from aarm.rules.p (policy_id unknown): it is not an object"
}

test_findings_not_a_set_denies if {
	every doc in [[finding("ALLOW", "a", 0)], finding("ALLOW", "a", 0), "ALLOW", true] {
		d := data.aarm.decision with data.aarm.rules as {"p": {"findings": doc}}
		d == {"decision": "DENY", "reasons": [{
			"effect": "DENY",
			"policy_id": "aarm.malformed_finding",
			"priority": 0,
			"reason": "malformed findings in aarm.rules.p: findings must be a set",
		}]}
	}
}

test_malformed_and_forbidden_reasons_together if {
	forbidden := object.union(finding("DENY", "f", 0), {"forbidden": true})
	d := decide({forbidden, "junk"})
	[r.policy_id | some r in d.reasons] == ["aarm.malformed_finding", "f"]
}

test_malformed_beats_configured_allow_default if {
	d := data.aarm.decision with data.aarm.rules as rules({"junk"}) with data.aarm.config as {"default_decision": "ALLOW"}
	d.decision == "DENY"
}

# --- the decision is always defined ------------------------------------------------------

test_decision_defined_for_any_input if {
	every inp in [{}, {"action": "x"}, {"action": {"tool": 1, "parameters": []}}, {"signals": "loud"}] {
		d := data.aarm.decision with input as inp with data.aarm.rules as {}
		d.decision == "DENY"
	}
}

test_decision_defined_for_non_object_input if {
	d := data.aarm.decision with input as "garbage" with data.aarm.rules as {}
	d.decision == "DENY"
}

# --- helpers --------------------------------------------------------------------------------

test_priority_levels if {
	data.aarm.priority == {"baseline": 0, "context": 50, "compositional": 80}
}

test_input_helpers if {
	inp := {"action": {"tool": "t", "parameters": {"a": 1, "n": null}}, "signals": {"s": 0.5}}
	v5 := data.aarm.tool with input as inp
	v5 == "t"
	v6 := data.aarm.param("a") with input as inp
	v6 == 1
	v7 := data.aarm.param("n") with input as inp
	v7 == null
	v8 := data.aarm.param("missing") with input as inp
	v8 == null
	v9 := data.aarm.signal("s") with input as inp
	v9 == 0.5
	v10 := data.aarm.signal("missing") with input as inp
	v10 == null
	data.aarm.has_key(inp.action.parameters, "n")
	not data.aarm.has_key(inp.action.parameters, "missing")
}

test_raw_params_is_the_parameters_as_sent if {
	every p in [{"a": 1}, "a=1", [1], null] {
		v := data.aarm.raw_params with input as {"action": {"tool": "t", "parameters": p}}
		v == p
	}
	every inp in [{}, {"action": {}}, {"action": "x"}, "garbage"] {
		v := data.aarm.raw_params with input as inp
		v == null
	}
}

test_input_helpers_on_garbled_input if {
	inp := {"action": {"tool": 5, "parameters": "a=1"}, "signals": [1]}
	v11 := data.aarm.tool with input as inp
	v11 == ""
	v12 := data.aarm.params with input as inp
	v12 == {}
	v13 := data.aarm.signals with input as inp
	v13 == {}
	v14 := data.aarm.param("a") with input as inp
	v14 == null
}

test_exceeds_fails_closed if {
	data.aarm.exceeds(1001, 1000)
	not data.aarm.exceeds(1000, 1000)
	not data.aarm.exceeds(5, 1000)
	data.aarm.exceeds(null, 1000)
	data.aarm.exceeds("5", 1000)
	data.aarm.exceeds({}, 1000)
}

# --- catalogue and classification helpers ------------------------------------------------

catalog := {"tools": {
	"mail": {"operation": "send", "classification": "PUBLIC", "default_decision": "ALLOW", "egress": true},
	"junk": "ALLOW",
	"": {"default_decision": "ALLOW"},
}}

test_catalog_entry_of_a_listed_tool if {
	e := data.aarm.catalog_entry with input as {"action": {"tool": "mail"}} with data.aarm.catalog as catalog
	e == catalog.tools.mail
}

test_catalog_entry_of_the_shipped_catalogue if {
	e := data.aarm.catalog_entry with input as {"action": {"tool": "db.query"}}
	e.classification == "CONFIDENTIAL"
	e.egress == false
}

test_catalog_entry_undefined_when_unknown if {
	every inp in [
		{"action": {"tool": "shell.exec"}},
		{"action": {"tool": "MAIL"}},
		{"action": {"tool": "junk"}},
		{"action": {"tool": ""}},
		{"action": {"tool": ["mail"]}},
		{"action": {}},
		{},
	] {
		not data.aarm.catalog_entry with input as inp with data.aarm.catalog as catalog
	}
}

test_catalog_entry_undefined_without_a_catalogue if {
	every c in [{}, null, {"tools": ["mail"]}, {"tools": "mail"}] {
		not data.aarm.catalog_entry with input as {"action": {"tool": "mail"}} with data.aarm.catalog as c
	}
}

test_classification_rank if {
	data.aarm.classification_rank == {"PUBLIC": 0, "INTERNAL": 1, "CONFIDENTIAL": 2, "RESTRICTED": 3}
}

test_session_classification_from_the_context if {
	every level in ["PUBLIC", "INTERNAL", "CONFIDENTIAL", "RESTRICTED"] {
		c := data.aarm.session_classification with input as {"context": {"action_count": 3, "max_classification": level}}
		c == level
	}
}

test_session_classification_without_context_is_public if {
	# no context at all: a first action, nothing has been seen yet
	every inp in [{}, {"action": {"tool": "email.send"}}] {
		c := data.aarm.session_classification with input as inp
		c == "PUBLIC"
	}
}

test_session_classification_fails_closed_on_a_garbled_context if {
	every ctx in [
		{},
		{"action_count": 4},
		{"max_classification": null},
		{"max_classification": "confidential"},
		{"max_classification": "Public"},
		{"max_classification": " PUBLIC"},
		{"max_classification": "SECRET"},
		{"max_classification": 0},
		{"max_classification": ["PUBLIC"]},
		null,
		"PUBLIC",
		[],
	] {
		c := data.aarm.session_classification with input as {"action": {"tool": "email.send"}, "context": ctx}
		c == "RESTRICTED"
	}
}

test_a_string_findings_inside_a_rule_set_is_not_a_package if {
	tree := {"exfil": {
		"domains": {"findings", "example.com"},
		"findings": {finding("ALLOW", "exfil", 0)},
	}}
	d := data.aarm.decision with data.aarm.rules as tree
	d == {"decision": "ALLOW", "reasons": [reason("ALLOW", "exfil", 0)]}
}

# --- operations ----------------------------------------------------------------

ops_catalog := {"tools": {
	"one": {"operation": "pay"},
	"many": {"operation": ["read", "send"]},
	"bad": {"operation": "frobnicate"},
	"none": {},
}}

ops(inp) := o if {
	o := data.aarm.operations with input as inp with data.aarm.catalog as ops_catalog
}

test_operations_from_the_flow_first if {
	ops({"action": {"tool": "one", "operation": "read"}, "flow": {"operations": ["send", "grant"]}}) == {"send", "grant"}
	ops({"action": {"tool": "one"}, "flow": {"operations": []}}) == set()
	ops({"action": {"tool": "one"}, "flow": {"operations": ["send", 5]}}) == {"send"}
}

test_operations_from_the_catalogue_then_the_action if {
	ops({"action": {"tool": "one", "operation": "write"}}) == {"pay"}
	ops({"action": {"tool": "many"}, "flow": {}}) == {"read", "send"}
	ops({"action": {"tool": "bad", "operation": "write"}}) == {"write"}
	ops({"action": {"tool": "none", "operation": "delete"}}) == {"delete"}
	ops({"action": {"tool": "unknown", "operation": "execute"}}) == {"execute"}
	ops({"action": {"tool": "none"}}) == set()
	ops({"action": {"tool": "none", "operation": ["read"]}}) == set()
}

test_valid_operation if {
	every op in ["read", "write", "delete", "execute", "send", "grant", "pay", ["read", "send"], ["pay"]] {
		data.aarm.valid_operation(op)
	}
	every op in ["READ", "admin", "", [], ["read", "admin"], ["read", 1], 5, null, {"read": true}] {
		not data.aarm.valid_operation(op)
	}
}
