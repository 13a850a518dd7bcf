# Tests of the patch helpers of the core library: pointer and redact.
package aarm_patch_test

import data.aarm

params(p) := {"action": {"tool": "t", "parameters": p}}

test_pointer_escapes_per_rfc_6901 if {
	aarm.pointer("limit") == "/limit"
	aarm.pointer("a/b") == "/a~1b"
	aarm.pointer("a~b") == "/a~0b"
	aarm.pointer("~/") == "/~0~1"
	aarm.pointer("~1") == "/~01"
	aarm.pointer("") == "/"
}

test_redact_replaces_present_parameters_in_name_order if {
	r := aarm.redact(["token", "body", "absent"]) with input as params({"body": "x", "token": {"a": 1}, "to": "y"})
	r == [
		{"op": "replace", "path": "/body", "value": "[REDACTED]"},
		{"op": "replace", "path": "/token", "value": "[REDACTED]"},
	]
}

test_redact_present_null_and_escaped_names if {
	r := aarm.redact({"a/b", "n"}) with input as params({"a/b": "s", "n": null})
	r == [
		{"op": "replace", "path": "/a~1b", "value": "[REDACTED]"},
		{"op": "replace", "path": "/n", "value": "[REDACTED]"},
	]
}

test_redact_one_name_duplicates_and_non_strings if {
	r := aarm.redact("body") with input as params({"body": "x"})
	r == [{"op": "replace", "path": "/body", "value": "[REDACTED]"}]
	d := aarm.redact(["body", "body", 1, null]) with input as params({"body": "x"})
	d == [{"op": "replace", "path": "/body", "value": "[REDACTED]"}]
}

test_redact_nothing_present if {
	every inp in [params({}), params("body=x"), {}, {"action": {"tool": "t"}}] {
		r := aarm.redact(["body"]) with input as inp
		r == []
	}
}

test_redact_is_a_valid_modify_patch if {
	inp := params({"body": "4111", "to": "x"})
	p := aarm.redact(["body"]) with input as inp
	f := {"effect": "MODIFY", "policy_id": "r", "reason": "r", "patch": p}
	d := data.aarm.decision with input as inp with data.aarm.rules as {"p": {"findings": {f}}}
	d.decision == "MODIFY"
	d.patch == [{"op": "replace", "path": "/body", "value": "[REDACTED]"}]
}
