# Tests of aarm.rules.side_channel, alone and through the real combiner.
# First the card numbers in the body of an egress tool (the former redact_secrets).
package rules_test.side_channel

import data.flow_fixtures as fx

post(params) := {"action": {"tool": "http.post", "operation": "send", "parameters": params}}

findings(inp) := fs if {
	fs := data.aarm.rules.side_channel.findings with input as inp
}

decision(inp) := d if {
	d := data.aarm.decision with input as inp
}

redact_body := [{"op": "replace", "path": "/body", "value": "[REDACTED]"}]

test_card_number_in_the_body_is_redacted if {
	inp := post({"url": "https://api.example.com/tickets", "body": "customer card 4111 1111 1111 1111, exp 12/27"})
	findings(inp) == {{
		"effect": "MODIFY",
		"patch": redact_body,
		"policy_id": "redact-secrets",
		"priority": 50,
		"reason": "tool http.post: parameter body holds a payment card number: redacted",
		"risk": "MEDIUM",
	}}
	decision(inp) == {
		"decision": "MODIFY",
		"reasons": [{
			"effect": "MODIFY",
			"policy_id": "redact-secrets",
			"priority": 50,
			"reason": "tool http.post: parameter body holds a payment card number: redacted",
			"risk": "MEDIUM",
		}],
		"patch": redact_body,
		"risk": "MEDIUM",
	}
}

test_card_number_spellings if {
	every body in [
		"4111111111111111",
		"4111-1111-1111-1111",
		"pay with 5500 0000 0000 0004 now",
		"amex 378282246310005",
		"3056930009020004 (diners, 16)",
		"visa13 4222222222222",
		"first 1234 then 4111111111111111",
		"0000000000000001 4111111111111111",
	] {
		decision(post({"body": body})).patch == redact_body
	}
}

test_card_number_anywhere_in_a_structured_body if {
	every body in [
		{"customer": {"cards": ["4111 1111 1111 1111"]}},
		{"pan": 4111111111111111},
		["x", {"y": "4111-1111-1111-1111"}],
	] {
		decision(post({"body": body})).patch == redact_body
	}
}

test_other_numbers_are_left_alone if {
	every body in [
		"order 4111111111111112",
		"ts 1700000000000",
		"call +1 555 123 4567",
		"41111111111111111111",
		"",
		{"n": 1234},
		null,
	] {
		count(findings(post({"body": body}))) == 0
		decision(post({"body": body})).decision == "ALLOW"
	}
}

# A known limit: a grouped number followed by more grouped digits is one longer run.
test_grouped_number_glued_to_more_groups_is_not_found if {
	count(findings(post({"body": "4111 1111 1111 1111 2027"}))) == 0
}

test_only_the_body_is_redacted if {
	d := decision(post({"url": "https://example.com/4111111111111111", "body": "x"}))
	d.decision == "ALLOW"
}

test_email_send_is_an_egress_tool_too if {
	inp := {"action": {"tool": "email.send", "parameters": {"to": "bob@example.com", "body": "card 4111111111111111"}}}
	decision(inp).patch == redact_body
}

test_tools_that_stay_inside_are_not_touched if {
	every tool in ["files.read", "db.query", "shell.exec"] {
		count(findings({"action": {"tool": tool, "parameters": {"body": "4111111111111111"}}})) == 0
	}
}

test_the_redaction_never_quotes_the_number if {
	some f in findings(post({"body": "4111111111111111"}))
	not contains(f.reason, "4111")
}

test_luhn if {
	data.aarm.rules.side_channel.luhn("4111111111111111")
	data.aarm.rules.side_channel.luhn("79927398713")
	not data.aarm.rules.side_channel.luhn("79927398710")
	not data.aarm.rules.side_channel.luhn("4111111111111112")
}

# --- free-text values of the flow --------------------------------------------------------------

note(path, text, flags) := fx.val(path, "text", text, {"pointer": concat("", ["/", replace(path, ".", "/")]), "flags": flags})

out := fx.outside_email("to", "vendor@partner.io", "intent", "")

test_a_secret_in_a_message_to_an_outsider_is_redacted if {
	body := note("body", "here is the key sk-live-123", ["secret"])
	inp := fx.act("mail.send", {"to": "vendor@partner.io", "body": body.value}, fx.flow(["send"], [out, body], fx.trusted), "INTERNAL")
	fx.findings("side_channel", inp) == {{
		"effect": "MODIFY",
		"patch": [{"op": "replace", "path": "/body", "value": "[REDACTED]"}],
		"policy_id": "redact-secrets",
		"priority": 50,
		"reason": "tool mail.send: parameter body holds a secret: redacted",
		"risk": "MEDIUM",
	}}
	d := fx.decide(inp)
	d.decision == "MODIFY"
	d.patch == [{"op": "replace", "path": "/body", "value": "[REDACTED]"}]
	not contains(json.marshal(d.reasons), "sk-live")
}

test_a_nested_value_is_redacted_at_its_pointer if {
	v := fx.val("attendees[1].note", "text", "card 4111 1111 1111 1111", {"pointer": "/attendees/1/note"})
	inp := fx.act("chat.post", {"attendees": [{}, {"note": v.value}]}, fx.flow(["send"], [v], fx.trusted), "INTERNAL")
	some f in fx.findings("side_channel", inp)
	f.patch == [{"op": "replace", "path": "/attendees/1/note", "value": "[REDACTED]"}]
	f.reason == "tool chat.post: parameter attendees[1].note holds a payment card number: redacted"
}

test_telemetry_is_redacted_even_inside if {
	v := note("trace.sql", "select * from users where token = 'sk-live-123'", ["secret"])
	inp := fx.act("metrics.emit", {"trace": {"sql": v.value}}, fx.flow(["write"], [v], fx.trusted), "INTERNAL")
	fx.decide(inp).patch == [{"op": "replace", "path": "/trace/sql", "value": "[REDACTED]"}]
}

test_a_card_in_the_body_is_redacted_once if {
	body := note("body", "4111111111111111", ["secret"])
	inp := fx.act("mail.send", {"to": "x", "body": body.value}, fx.flow(["send"], [out, body], fx.trusted), "INTERNAL")
	fs := fx.findings("side_channel", inp)
	[f.reason | some f in fs] == ["tool mail.send: parameter body holds a payment card number: redacted"]
}

test_the_redaction_settles_when_evaluated_again if {
	# the service evaluates the patched parameters again with the same flow: the same
	# patch again is a MODIFY that changes nothing more
	body := note("body", "sk-live-123", ["secret"])
	inp := fx.act("mail.send", {"to": "x", "body": "[REDACTED]"}, fx.flow(["send"], [out, body], fx.trusted), "INTERNAL")
	fx.decide(inp).patch == [{"op": "replace", "path": "/body", "value": "[REDACTED]"}]
}

test_a_deny_beats_the_redaction if {
	body := note("body", "sk-live-123", ["secret"])
	stranger := fx.outside_email("to", "vendor@partner.io", "new", "")
	inp := fx.act("mail.send", {"to": "x", "body": body.value}, fx.flow(["send"], [stranger, body], fx.trusted), "CONFIDENTIAL")
	d := fx.decide(inp)
	d.decision == "DENY"
	fx.ids(d) == ["credential-leak", "exfiltration-guard"]
}

# --- the benign look-alikes -------------------------------------------------------------------

test_a_secret_that_stays_in_an_internal_write_is_not_touched if {
	v := note("content", "db password: hunter2", ["secret"])
	inp := fx.act("files.write", {"content": v.value}, fx.flow(["write"], [v], fx.trusted), "INTERNAL")
	count(fx.findings("side_channel", inp)) == 0
}

test_text_without_secrets_is_not_touched if {
	v := note("body", "order 4111111111111112, see you", [])
	inp := fx.act("mail.send", {"to": "x", "body": v.value}, fx.flow(["send"], [out, v], fx.trusted), "INTERNAL")
	count(fx.findings("side_channel", inp)) == 0
	fx.decide(inp).decision == "ALLOW"
}

test_values_that_are_not_free_text_are_left_to_the_credentials_pack if {
	v := fx.val("url", "url", "https://x.io/?k=sk", {"flags": ["secret"], "destination": true, "inside": false})
	count(fx.findings("side_channel", fx.act("mail.send", {"url": "x"}, fx.flow(["send"], [v], fx.trusted), "INTERNAL"))) == 0
}

test_no_redaction_on_a_tool_held_by_its_baseline if {
	body := note("body", "sk-live-123", ["secret"])
	every tool in ["blocked.tool", "held.tool"] {
		inp := fx.act(tool, {"body": body.value}, fx.flow(["send"], [body], fx.trusted), "INTERNAL")
		count(fx.findings("side_channel", inp)) == 0
	}
}

test_a_secret_in_a_comment_is_redacted_wherever_it_lands if {
	v := note("comment", "curl -v -H 'Authorization: Bearer sk-live-9'", ["secret"])
	inp := fx.act("mail.send", {"comment": v.value}, fx.flow(["write"], [v], fx.trusted), "INTERNAL")
	fx.decide(inp).patch == [{"op": "replace", "path": "/comment", "value": "[REDACTED]"}]
}

test_a_search_query_that_embeds_confidential_values_is_redacted if {
	q := fx.val("query", "text", "VAT id DE811234567 Castell", {"embedded": {"count": 1, "sensitive": 1}})
	d := fx.decide(fx.act("web.fetch", {"query": q.value}, fx.flow(["read"], [q], fx.trusted), "CONFIDENTIAL"))
	d.decision == "MODIFY"
	fx.ids(d) == ["redact-sensitive-values"]

	# a query that embeds nothing from confidential output goes through
	plain := fx.val("query", "text", "German VAT rules 2025", {})
	fx.decide(fx.act("web.fetch", {"query": plain.value}, fx.flow(["read"], [plain], fx.trusted), "CONFIDENTIAL")).decision == "ALLOW"
}

test_a_credential_the_call_presents_is_used_as_intended if {
	header := fx.val("headers.Authorization", "text", "Bearer eyJhbGciOi.x.y", {"pointer": "/headers/Authorization", "flags": ["secret"]})
	inside := fx.inside_email("to", "ops@acme.com")
	inp := fx.act("mail.send", {"headers": {"Authorization": header.value}}, fx.flow(["send"], [inside, header], fx.trusted), "INTERNAL")
	count(fx.findings("side_channel", inp)) == 0

	# in telemetry it is a copy that leaks
	attr := fx.val("attributes.http.request.header.authorization", "text", "Bearer eyJhbGciOi.x.y", {"pointer": "/attributes/http.request.header.authorization", "flags": ["secret"]})
	d := fx.decide(fx.act("metrics.emit", {"attributes": {}}, fx.flow(["write"], [attr], fx.trusted), "INTERNAL"))
	d.decision == "MODIFY"
	d.patch == [{"op": "replace", "path": "/attributes/http.request.header.authorization", "value": "[REDACTED]"}]
}
