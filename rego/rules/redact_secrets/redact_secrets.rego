# METADATA
# title: Redact payment card numbers leaving the organisation
# description: |
#   An example of a MODIFY built with aarm.redact. When a tool that sends data
#   outside the organisation (catalogue entry without "egress": false, like
#   http.post and email.send) carries a payment card number in its "body"
#   parameter, the body is replaced with "[REDACTED]" (MODIFY, policy_id
#   "redact-secrets", context priority 50, risk MEDIUM):
#     [{"op": "replace", "path": "/body", "value": "[REDACTED]"}]
#   The rest of the call goes through.
#
#   A card number is 13 to 19 digits that pass the Luhn check (which every
#   issued card number does; it keeps order numbers and millisecond timestamps
#   out, all but one in ten), either a whole run of digits grouped by single
#   spaces or hyphens ("4111 1111 1111 1111", "4111-1111-1111-1111") or a run of
#   digits alone ("4111111111111111"), not glued to other digits. A grouped
#   number followed by more grouped digits ("4111 1111 1111 1111 2027") is one
#   longer run and not found. The body may be a string or any JSON value: every string and number in
#   it is searched. This catches accidental leaks, not a determined adversary (who
#   can spell the digits out or encode them); the reason never quotes the number.
#
#   Unknown tools are left to the default posture (DENY). No rule of this package
#   holds input values (documents below aarm.rules are walked by the core library).
package aarm.rules.redact_secrets

import data.aarm

# The parameters searched for card numbers.
fields := ["body"]

# The candidates: maximal runs of digits with single space or hyphen separators
# ("4111 1111 1111 1111"), and maximal runs of digits alone (so that a number is
# found even when a separator glues it to other digits: "1234 4111111111111111").
digit_runs := [`[0-9](?:[ -]?[0-9])*`, `[0-9]+`]

# Luhn: the value of a digit at an odd position counted from the right, doubled.
doubled := [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]

digit_value := {"0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9}

# egress: the tool is catalogued and does not say "egress": false.
egress if {
	entry := aarm.catalog_entry
	not stays_inside(entry)
}

stays_inside(entry) if entry.egress == false

# card_number(s): the string s holds a card number.
card_number(s) if {
	some pattern in digit_runs
	some m in regex.find_all_string_submatch_n(pattern, s, -1)
	digits := replace(replace(m[0], " ", ""), "-", "")
	count(digits) >= 13
	count(digits) <= 19
	luhn(digits)
}

# luhn(digits): the string of digits passes the Luhn check.
luhn(digits) if {
	ds := [digit_value[c] | some c in split(digits, "")]
	n := count(ds)
	total := sum([luhn_value(d, (n - 1) - i) | some i, d in ds])
	total % 10 == 0
}

luhn_value(d, from_right) := d if from_right % 2 == 0

luhn_value(d, from_right) := doubled[d] if from_right % 2 == 1

# holds_card(x): a string or number somewhere in x holds a card number.
holds_card(x) if {
	walk(x, [_, v])
	is_string(v)
	card_number(v)
}

holds_card(x) if {
	walk(x, [_, v])
	is_number(v)
	card_number(json.marshal(v))
}

findings contains {
	"effect": "MODIFY",
	"patch": aarm.redact([field]),
	"policy_id": "redact-secrets",
	"priority": aarm.priority.context,
	"reason": concat("", ["tool ", aarm.tool, ": parameter ", field, " holds a payment card number: redacted"]),
	"risk": "MEDIUM",
} if {
	egress
	some field in fields
	holds_card(aarm.param(field))
}
