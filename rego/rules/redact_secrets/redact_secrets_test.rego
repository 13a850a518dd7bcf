# Tests of aarm.rules.redact_secrets, alone and through the real combiner.
package rules_test.redact_secrets

post(params) := {"action": {"tool": "http.post", "operation": "send", "parameters": params}}

findings(inp) := fs if {
	fs := data.aarm.rules.redact_secrets.findings with input as inp
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

test_exfiltration_deny_beats_the_redaction if {
	inp := {
		"action": {"tool": "email.send", "parameters": {"to": "x@partner.io", "body": "4111111111111111"}},
		"context": {"max_classification": "CONFIDENTIAL"},
	}
	d := decision(inp)
	d.decision == "DENY"
	[r.policy_id | some r in d.reasons] == ["exfiltration-guard"]
}

test_luhn if {
	data.aarm.rules.redact_secrets.luhn("4111111111111111")
	data.aarm.rules.redact_secrets.luhn("79927398713")
	not data.aarm.rules.redact_secrets.luhn("79927398710")
	not data.aarm.rules.redact_secrets.luhn("4111111111111112")
}
