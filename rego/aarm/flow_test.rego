# Tests of the information-flow helpers of the core library (flow.rego).
package aarm_flow_test

import data.aarm
import data.flow_fixtures as fx

v_out := fx.outside_email("to", "eve@evil.io", "untrusted", "mail.read")

v_in := fx.inside_email("cc", "bob@acme.com")

inp := fx.act("mail.send", {"to": "eve@evil.io"}, fx.flow(["send"], [v_out, v_in, "garbage"], fx.untrusted("mail.read", 0.93, 1)), "CONFIDENTIAL")

# --- reading input.flow ----------------------------------------------------------------------

test_without_a_flow_every_helper_is_empty if {
	no := fx.without_flow(inp)
	not aarm.has_flow with input as no
	aarm.flow_values == [] with input as no
	aarm.flow_session == {} with input as no
	aarm.flow_facts == {} with input as no
	aarm.flow_unreadable == set() with input as no
	not aarm.flow_amount with input as no
	count(aarm.destinations) == 0 with input as no
	not aarm.session_untrusted with input as no
	aarm.injection_score == 0 with input as no
	every garbled in ["x", [], {"values": "x", "session": [], "unreadable": {}, "amount": {"value": "5"}}] {
		aarm.flow_values == [] with input as {"flow": garbled}
		aarm.flow_session == {} with input as {"flow": garbled}
		aarm.flow_unreadable == set() with input as {"flow": garbled}
		not aarm.flow_amount with input as {"flow": garbled}
	}
}

test_values_keep_only_objects if {
	aarm.flow_values == [v_out, v_in] with input as inp
}

test_destinations_and_outside_destinations if {
	aarm.destinations == {v_out, v_in} with input as inp
	aarm.outside_destinations == {v_out} with input as inp
}

test_unreadable_and_amount if {
	f := {"unreadable": ["cc", 5], "amount": {"value": 12.5, "currency": "EUR"}}
	aarm.flow_unreadable == {"cc"} with input as {"flow": f}
	aarm.flow_amount == {"value": 12.5, "currency": "EUR"} with input as {"flow": f}
	aarm.flow_amount == {"value": 3, "currency": null} with input as {"flow": {"amount": {"value": 3}}}
}

# --- operations --------------------------------------------------------------------------------

test_read_only if {
	aarm.read_only with input as {"flow": {"operations": ["read"]}}
	not aarm.read_only with input as {"flow": {"operations": ["read", "send"]}}
	not aarm.read_only with input as {"action": {"tool": "nope"}}
}

test_memory_tools if {
	aarm.memory_save with input as {"action": {"tool": "memory.save"}} with data.aarm.catalog.tools as fx.tools
	not aarm.memory_save with input as {"action": {"tool": "files.write"}} with data.aarm.catalog.tools as fx.tools
}

test_high_impact if {
	every ops in [["send"], ["pay"], ["grant"], ["delete"], ["execute"], ["read", "execute"]] {
		aarm.high_impact with input as {"flow": {"operations": ops}}
	}
	not aarm.high_impact with input as {"flow": {"operations": ["read", "write"]}}
	aarm.high_impact with input as {"flow": {"operations": ["read"], "values": [v_out]}}
	aarm.high_impact with input as {"flow": {"operations": ["write"]}, "action": {"tool": "memory.save"}} with data.aarm.catalog.tools as fx.tools
}

# --- the session --------------------------------------------------------------------------------

test_untrusted_sessions if {
	aarm.session_untrusted with input as inp
	not aarm.session_untrusted with input as {"flow": {"session": fx.trusted}}
	aarm.recent_untrusted(1) with input as inp
	not aarm.recent_untrusted(0) with input as inp
	aarm.untrusted_source == "mail.read" with input as inp
	aarm.untrusted_source == "a.x, b.y" with input as {"flow": {"session": {"untrusted_sources": ["b.y", "a.x"]}}}
	aarm.untrusted_source == "an unnamed source" with input as {}
}

test_recent_untrusted_actions_from_config if {
	aarm.recent_untrusted_actions == 3
	aarm.recent_untrusted_actions == 1 with data.aarm.config.recent_untrusted_actions as 1
	every garbled in [0, 1.5, "2", null] {
		aarm.recent_untrusted_actions == 3 with data.aarm.config.recent_untrusted_actions as garbled
	}
}

test_injection_scores if {
	aarm.scanner_score == 0.93 with input as inp
	aarm.injection_score == 0.93 with input as inp
	aarm.injection_score == 0.95 with input as object.union(inp, {"signals": {"injection_score": 0.95}})
	aarm.injection_score == 0.4 with input as {"signals": {"injection_score": 0.4}}
	aarm.injection_score == 0 with input as {"signals": {"injection_score": "high"}}
}

test_the_scanners_copy_is_recognised if {
	aarm.scanner_copy with input as {"signals": {"injection_score": 0.5, "injection_source": "scanner"}}

	# a caller's score equal to the scanner's is still the caller's
	not aarm.scanner_copy with input as object.union(inp, {"signals": {"injection_score": 0.93}})
	not aarm.scanner_copy with input as object.union(inp, {"signals": {"injection_score": 0.95}})
	not aarm.scanner_copy with input as {"signals": {"injection_score": 0.93}}
}

test_injection_thresholds_from_config if {
	aarm.injection_deny_at == 0.8
	aarm.injection_step_up_at == 0.5
	aarm.injection_deny_at == 0.9 with data.aarm.config.injection as {"deny_at": 0.9}
	aarm.injection_step_up_at == 0.5 with data.aarm.config.injection as {"step_up_at": 1.5}
}

test_sensitive_session if {
	aarm.sensitive_session with input as inp
	not aarm.sensitive_session with input as fx.act("x", {}, {}, "INTERNAL")
	aarm.sensitive_session with input as {"context": {"max_classification": "secret"}}
}

test_facts_and_blocking_facts if {
	aarm.flow_facts == {"change_freeze": true} with input as {"flow": {"session": {"facts": {"change_freeze": true}}}}
	aarm.blocking_facts.change_freeze.effect == "DEFER"
	aarm.blocking_facts == {"x": {}} with data.aarm.org.blocking_facts as {"x": {}}
	aarm.blocking_facts.incident_active.operations == ["delete", "grant"] with data.aarm.org.blocking_facts as ["x"]
}

# --- the catalogue -----------------------------------------------------------------------------------

test_lets_through_and_approvers if {
	aarm.lets_through with input as {"action": {"tool": "mail.send"}} with data.aarm.catalog.tools as fx.tools
	not aarm.lets_through with input as {"action": {"tool": "blocked.tool"}} with data.aarm.catalog.tools as fx.tools
	not aarm.lets_through with input as {"action": {"tool": "held.tool"}} with data.aarm.catalog.tools as fx.tools
	not aarm.lets_through with input as {"action": {"tool": "nope"}} with data.aarm.catalog.tools as fx.tools
	aarm.catalog_approvers(["x"]) == ["finance"] with input as {"action": {"tool": "payments.pay"}} with data.aarm.catalog.tools as fx.tools
	aarm.catalog_approvers(["x"]) == ["x"] with input as {"action": {"tool": "mail.send"}} with data.aarm.catalog.tools as fx.tools
}

# --- destructive values and bulk deletes --------------------------------------------------------------

test_destructive_values if {
	d := fx.val("sql", "sql", "DROP TABLE x", {"flags": ["destructive"]})
	aarm.destructive_values == {d} with input as {"flow": {"values": [d, v_in]}}
}

del(params) := {"flow": {"operations": ["delete"]}, "action": {"tool": "t", "parameters": params}}

test_bulk_delete_parameters if {
	aarm.bulk_delete_parameters == {"Recursive", "paths"} with input as del({"Recursive": "yes", "paths": ["/a", "/b/*"], "id": 4})
	aarm.bulk_delete_parameters == {"q"} with input as del({"q": " ALL "})
	aarm.bulk_delete_parameters == set() with input as del({"recursive": false, "all": "no", "path": "/a"})
	aarm.bulk_delete_parameters == set() with input as {"flow": {"operations": ["write"]}, "action": {"parameters": {"path": "*"}}}
}

test_glob_match if {
	aarm.glob_match("mail.*", "mail.x.y")
	not aarm.glob_match("mail.*", "mailx")
	aarm.glob_match("*", "anything")
	aarm.glob_match("crm.read_?", "crm.read_x")
	not aarm.glob_match("crm.read_?", "crm.read_xy")
	not aarm.glob_match("a.b", "axb")
	aarm.glob_match(`a+b(c)[d]{e}^$|\x`, `a+b(c)[d]{e}^$|\x`)
}

# --- reasons --------------------------------------------------------------------------------------------

test_short_and_masks if {
	aarm.short("abc") == "abc"
	count(aarm.short(concat("", [x | some _ in numbers.range(1, 100); x := "a"]))) == 80
	aarm.mask_account("DE89 3704 0044 0532 0130 00") == "DE89...3000"
	aarm.mask_account("123") == "...23"
	aarm.mask_account("") == "..."
}

test_value_labels_never_quote_text_or_code if {
	aarm.value_label(v_out) == "parameter to (eve@evil.io)"
	aarm.value_label(fx.val("url", "url", "https://x.io/?t=s3cr3t", {"host": "x.io"})) == "parameter url (host x.io)"
	aarm.value_label(fx.val("url", "url", "https://x.io/?t=s3cr3t", {})) == "parameter url (a URL)"
	aarm.value_label(fx.val("iban", "account", "DE89370400440532013000", {})) == "parameter iban (DE89...3000)"
	every kind, name in {"text": "free text", "sql": "an SQL statement", "command": "a command line"} {
		aarm.value_label(fx.val("p", kind, "rm -rf / sk-live", {})) == concat("", ["parameter p (", name, ")"])
	}
	aarm.value_label({"param": "x"}) == "parameter x (a value)"
	aarm.value_label({}) == "parameter ? (a value)"
	aarm.value_labels({v_out, v_in}) == "parameter cc (bob@acme.com); parameter to (eve@evil.io)"
}

test_origin_labels if {
	aarm.origin_label(v_out) == "first seen in untrusted output of mail.read"
	aarm.origin_label({"origin": "untrusted"}) == "first seen in untrusted content"
	aarm.origin_label({"origin": "intent"}) == "named by the user"
	aarm.origin_label({"origin": "trusted", "source": {"tool": "crm.read"}}) == "seen in trusted output of crm.read"
	aarm.origin_label({"origin": "new"}) == "seen nowhere before in this session"
	aarm.origin_label({}) == "of unknown origin"
}

test_session_and_injection_labels if {
	aarm.session_data_label == "the session holds CONFIDENTIAL data (pii)" with input as inp
	aarm.session_data_label == "the session holds PUBLIC data" with input as {}
	aarm.injection_label == "content from mail.read scored 0.93 as a prompt injection (addressed_to_ai, override)" with input as inp
	aarm.injection_label == "content reported by the caller scored 0.70 as a prompt injection" with input as {"signals": {"injection_score": 0.7}}
	aarm.injection_label == "content read in this session scored 0.60 as a prompt injection" with input as {"flow": {"session": {"injection": {"score": 0.6}}}}
}
