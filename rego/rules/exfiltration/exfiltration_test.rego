# Tests of aarm.rules.exfiltration, alone and through the real combiner.
# (Test packages stay outside aarm.rules, which the core library collects.)
package rules_test.exfiltration

# An action of `tool` with `params`, in a session that has seen `level` data.
act(tool, params, level) := {
	"action": {"tool": tool, "operation": "send", "parameters": params},
	"context": {"action_count": 3, "max_classification": level},
}

send(params, level) := act("email.send", params, level)

post(url, level) := act("http.post", {"url": url}, level)

findings(inp) := fs if {
	fs := data.aarm.rules.exfiltration.findings with input as inp
}

decision(inp) := d if {
	d := data.aarm.decision with input as inp
}

allowed(inp) if {
	count(findings(inp)) == 0
	decision(inp).decision == "ALLOW"
}

denied(inp) if {
	d := decision(inp)
	d.decision == "DENY"
	d.risk == "HIGH"
	count(d.reasons) > 0
	every r in d.reasons {
		r.policy_id == "exfiltration-guard"
		r.priority == 50
	}
}

outside_reason(level, domains) := concat("", [
	"session has seen ", level,
	" data: sending to a destination outside the organisation (", domains, ") is denied",
])

# --- AARM R3: the same action, judged by what the session has done -----------------------

test_r3_external_email_allowed_on_a_fresh_session_denied_after_confidential_read if {
	params := {"to": "alice@partner.io", "subject": "report", "body": "..."}
	allowed(send(params, "PUBLIC"))
	decision(send(params, "CONFIDENTIAL")) == {
		"decision": "DENY",
		"reasons": [{
			"effect": "DENY",
			"policy_id": "exfiltration-guard",
			"priority": 50,
			"reason": outside_reason("CONFIDENTIAL", "partner.io"),
			"risk": "HIGH",
		}],
		"risk": "HIGH",
	}
}

test_r3_through_a_real_session_context if {
	# the context the service sends on a first action, then after a db.query
	first := {"action_count": 0, "tools_used": {}, "data_classes": [], "max_classification": "PUBLIC", "history": []}
	later := {"action_count": 1, "tools_used": {"db.query": 1}, "data_classes": ["pii"], "max_classification": "CONFIDENTIAL", "history": [{"action_id": "a1", "tool": "db.query", "decision": "ALLOW", "at": "2025-01-01T00:00:00Z"}]}
	action := {"tool": "email.send", "parameters": {"to": "alice@partner.io"}}
	decision({"action": action, "context": first}).decision == "ALLOW"
	decision({"action": action, "context": later}).decision == "DENY"
}

test_no_context_at_all_is_a_first_action if {
	allowed({"action": {"tool": "email.send", "parameters": {"to": "alice@partner.io"}}})
}

test_internal_session_is_not_guarded if {
	allowed(send({"to": "alice@partner.io"}, "INTERNAL"))
}

test_restricted_session_is_guarded if {
	decision(send({"to": "alice@partner.io"}, "RESTRICTED")).reasons[0].reason == outside_reason("RESTRICTED", "partner.io")
}

test_garbled_session_classification_counts_as_restricted if {
	every ctx in [{}, {"max_classification": "confidential"}, {"max_classification": null}, "PUBLIC"] {
		inp := {"action": {"tool": "email.send", "parameters": {"to": "alice@partner.io"}}, "context": ctx}
		decision(inp).reasons[0].reason == outside_reason("RESTRICTED", "partner.io")
	}
}

# --- inside the organisation ---------------------------------------------------------------

test_internal_recipients_stay_allowed if {
	every params in [
		{"to": "bob@example.com"},
		{"to": "x@sub.example.com"},
		{"to": "x@a.b.example.com"},
		{"to": "Bob@EXAMPLE.COM"},
		{"to": "  bob@example.com "},
		{"to": "bob@example.com."},
		{"to": ["bob@example.com", "x@sub.example.com"]},
		{"to": "bob@example.com", "cc": ["carol@example.com"], "bcc": "dave@eu.example.com"},
		{"to": "bob@example.com", "cc": []},
	] {
		every level in ["CONFIDENTIAL", "RESTRICTED"] {
			allowed(send(params, level))
		}
	}
}

test_internal_urls_stay_allowed if {
	every url in [
		"https://example.com/hook",
		"https://api.example.com/v1/x?y=1#z",
		"http://API.Example.COM:8443",
		"https://svc:secret@hooks.example.com/in",
		"https://example.com./x",
	] {
		allowed(post(url, "RESTRICTED"))
	}
}

# --- outside the organisation --------------------------------------------------------------

test_lookalike_domains_are_outside if {
	every to in [
		"x@example.com.evil.io",
		"x@evilexample.com",
		"x@example.co",
		"x@example.com-evil.io",
		"x@com",
	] {
		denied(send({"to": to}, "CONFIDENTIAL"))
	}
}

test_mixed_to_list_with_one_external_denies if {
	d := decision(send({"to": ["bob@example.com", "x@sub.example.com", "Eve@Evil.IO"]}, "CONFIDENTIAL"))
	d.decision == "DENY"
	[r.reason | some r in d.reasons] == [outside_reason("CONFIDENTIAL", "evil.io")]
}

test_cc_and_bcc_are_destinations_too if {
	denied(send({"to": "bob@example.com", "cc": "eve@evil.io"}, "CONFIDENTIAL"))
	denied(send({"to": "bob@example.com", "bcc": ["carol@example.com", "eve@evil.io"]}, "CONFIDENTIAL"))
	denied(send({"bcc": "eve@evil.io"}, "CONFIDENTIAL"))
}

test_every_outside_domain_is_named_once_sorted if {
	d := decision(send({"to": ["a@zz.io", "b@aa.io"], "cc": "c@zz.io"}, "CONFIDENTIAL"))
	[r.reason | some r in d.reasons] == [outside_reason("CONFIDENTIAL", "aa.io, zz.io")]
}

test_external_urls_are_denied if {
	every url in [
		"https://evil.io/collect",
		"https://example.com.evil.io/x",
		"https://example.com@evil.io/x",
		"https://example.com:443@evil.io",
		"http://10.0.0.1/x",
		"ftp://files.evil.io/",
	] {
		denied(post(url, "CONFIDENTIAL"))
	}
	allowed(post("https://evil.io/collect", "PUBLIC"))
}

test_url_in_an_email_tool_is_checked_too if {
	denied(send({"to": "bob@example.com", "url": "https://evil.io/x"}, "CONFIDENTIAL"))
}

# --- fail closed -----------------------------------------------------------------------------

unreadable_reason(level, field, what) := concat("", [
	"session has seen ", level, " data: destination field ", field, " is not ", what,
	", so it may be outside the organisation: denied",
])

test_unreadable_addresses_deny if {
	every to in [
		"",
		"bob",
		"bob@",
		"@example.com",
		"bob@example..com",
		"bob@-example.com",
		"bob@exa_mple.com",
		"bob@[10.0.0.1]",
		"Bob <bob@example.com>",
		"eve@evil.io, bob@example.com",
		"eve@evil.io bob@example.com",
		"eve@evil.io;bob@example.com",
		"eve@evil.io@example.com",
		"\"eve@evil.io\"@example.com",
		"bob@example.com\nBcc: eve@evil.io",
		null,
		42,
		true,
		{"address": "bob@example.com"},
		["bob@example.com", 7],
		["bob@example.com", null],
		["bob@example.com", ["eve@evil.io"]],
		["bob@example.com", "eve@evil.io, x@example.com"],
	] {
		d := decision(send({"to": to}, "CONFIDENTIAL"))
		d.decision == "DENY"
		unreadable_reason("CONFIDENTIAL", "to", "an e-mail address or a list of them") in {r.reason | some r in d.reasons}
	}
}

test_unreadable_cc_denies_even_with_an_internal_to if {
	d := decision(send({"to": "bob@example.com", "cc": {"x": 1}}, "CONFIDENTIAL"))
	d.decision == "DENY"
	[r.reason | some r in d.reasons] == [unreadable_reason("CONFIDENTIAL", "cc", "an e-mail address or a list of them")]
}

test_unreadable_urls_deny if {
	every url in [
		"",
		"example.com/x",
		"//example.com/x",
		"https://",
		"https:/example.com",
		"https://evil.io\\@example.com/",
		"https://ex%61mple.com/",
		"https://[::1]/x",
		"https://exa mple.com/",
		"https://exa\tmple.com/",
		"mailto:bob@example.com",
		null,
		["https://example.com", 1],
	] {
		d := decision(post(url, "CONFIDENTIAL"))
		d.decision == "DENY"
		unreadable_reason("CONFIDENTIAL", "url", "a URL with a plain host name or a list of them") in {r.reason | some r in d.reasons}
	}
}

test_unreadable_destinations_are_fine_on_a_fresh_session if {
	# nothing sensitive has been seen: the guard says nothing
	allowed(send({"to": "Bob <bob@partner.io>"}, "PUBLIC"))
	allowed(post("not a url", "INTERNAL"))
}

test_egress_without_a_destination_denies if {
	every params in [{}, {"subject": "hi"}, {"to": []}, {"to": [], "cc": [], "bcc": []}] {
		d := decision(send(params, "CONFIDENTIAL"))
		d.decision == "DENY"
		[r.reason | some r in d.reasons] == ["session has seen CONFIDENTIAL data: tool email.send sends data outside the organisation and names no destination (to, cc, bcc, url): denied"]
	}
	denied({"action": {"tool": "http.post"}, "context": {"max_classification": "RESTRICTED"}})
	denied({"action": {"tool": "http.post", "parameters": "url=https://example.com"}, "context": {"max_classification": "RESTRICTED"}})
}

test_garbled_allowed_domains_means_nothing_is_inside if {
	every domains in [null, "example.com", {"example.com": true}, [], [7, null]] {
		d := data.aarm.decision with input as send({"to": "bob@example.com"}, "CONFIDENTIAL")
			with data.aarm.egress.allowed_domains as domains
		d.decision == "DENY"
	}
	e := data.aarm.decision with input as send({"to": "bob@example.com"}, "CONFIDENTIAL") with data.aarm.egress as null
	e.decision == "DENY"
}

test_allowed_domains_are_normalised if {
	d := data.aarm.decision with input as send({"to": ["bob@example.com", "x@corp.example.org"]}, "CONFIDENTIAL")
		with data.aarm.egress.allowed_domains as [" Example.COM ", "corp.example.org", ""]
	d.decision == "ALLOW"
}

test_an_empty_allowed_domain_allows_nothing if {
	d := data.aarm.decision with input as send({"to": "bob@evil.io"}, "CONFIDENTIAL")
		with data.aarm.egress.allowed_domains as ["", " "]
	d.decision == "DENY"
}

# --- which tools are guarded ------------------------------------------------------------------

test_non_egress_tools_are_not_guarded if {
	every tool in ["files.read", "db.query", "payments.transfer"] {
		fs := findings(act(tool, {"to": "eve@evil.io", "url": "https://evil.io"}, "RESTRICTED"))
		count(fs) == 0
	}
}

test_unknown_tools_are_left_to_the_default_posture if {
	inp := act("webhook.call", {"url": "https://evil.io"}, "RESTRICTED")
	count(findings(inp)) == 0
	d := decision(inp)
	d.decision == "DENY"
	d["default"] == true
}

test_missing_or_garbled_egress_flag_counts_as_egress if {
	every entry in [
		{"default_decision": "ALLOW"},
		{"default_decision": "ALLOW", "egress": null},
		{"default_decision": "ALLOW", "egress": "false"},
		{"default_decision": "ALLOW", "egress": 0},
	] {
		d := data.aarm.decision with input as act("t", {"to": "eve@evil.io"}, "CONFIDENTIAL")
			with data.aarm.catalog.tools as {"t": entry}
		d.decision == "DENY"
		d.reasons[0].policy_id == "exfiltration-guard"
	}
	e := data.aarm.decision with input as act("t", {"to": "eve@evil.io"}, "CONFIDENTIAL")
		with data.aarm.catalog.tools as {"t": {"default_decision": "ALLOW", "egress": false}}
	e.decision == "ALLOW"
}

# --- with the other rules ---------------------------------------------------------------------

test_injection_still_wins if {
	inp := object.union(send({"to": "eve@evil.io"}, "CONFIDENTIAL"), {"signals": {"injection_score": 0.9}})
	d := decision(inp)
	d.decision == "DENY"
	[r.policy_id | some r in d.reasons] == ["injection-guard"]
}
