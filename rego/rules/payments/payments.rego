# METADATA
# title: Payments
# description: |
#   Money goes only to payees the organisation knows, and the rules on amounts are
#   not worked around by splitting. Context priority 50, approvers ["finance"].
#   Appears inside several AARM threat classes (T1, T4, T11 steer an agent into a
#   payment); this pack judges the payment itself. Reads input.flow (silent without
#   it): values of kind account (IBAN, account number) and payee (an id of the
#   register), "registered" as the flow found it (own accounts and the payee
#   register, data.aarm.org.accounts / payees), and the session's totals.
#
#     - "payee-untrusted": a payment (operation pay) to an account or payee that is
#       not registered and first appeared in untrusted content -> DENY, risk HIGH:
#       the invoice that changes the bank details;
#     - "payee-unregistered": a payment to an account or payee that is not
#       registered, named otherwise -> STEP_UP, risk HIGH; the reason asks the
#       approver to call the payee back on a number they already have. When the
#       organisation keeps no payee register in Arbiter (data.aarm.org.payees has no
#       entry but examples), "not registered" says nothing: only an account or payee
#       the session has never seen (origin "new") steps up, and one the user named or
#       trusted output gave (the bank's own payee list, a bill in the company's files)
#       is paid. A source of the money ("debit_account", "from_iban": not a
#       destination) is never judged as a payee;
#     - "payee-unreadable": a payment whose destination parameter the flow could not
#       read (flow.unreadable) -> STEP_UP, risk HIGH: it cannot be checked against
#       the register;
#     - "bank-account-change": a write (not a payment) that sets an account not
#       registered (a payee's or an employee's bank details; without a register, one
#       the session has never seen) -> STEP_UP, risk HIGH, with the same call-back
#       advice (one from untrusted content is malicious_output's);
#     - "payment-splitting": a payment whose amount alone is at most the
#       large-payment threshold while, with at least 2 earlier payments to the same
#       payee in the last hour (or 1 earlier payment of exactly the same amount: equal
#       instalments) (flow.session.totals.payments_to_payee_hour), the
#       hour's total goes above it -> STEP_UP, risk HIGH. The threshold is the
#       lowest of data.aarm.org.limits.single_payment (a number, or an object by
#       currency) and the "above" / "at_least" of the tool's conditional effects on
#       its amount parameter that hold it (STEP_UP, DEFER, DENY); no threshold, no
#       finding.
#   STEP_UP only on tools whose baseline lets the call through.
# custom:
#   threat: T1, T4, T11 (payments)
#   aarm_control: R3 context-dependent DENY and parameter limits; R4 STEP_UP with approver routing
package aarm.rules.payments

import data.aarm

paying if "pay" in aarm.operations

# unregistered(v): a money value the flow found in neither own accounts nor the register.
unregistered(v) if {
	v.kind in aarm.money_kinds
	v.registered == false
}

# paid_to(v): an unregistered value a payment sends money to, not the account it is paid
# from ("debit_account", "from_iban", "source_account": named as the source, and not
# declared a destination by the catalogue, which has the last word).
paid_to(v) if {
	unregistered(v)
	not money_source(v)
}

money_source(v) if {
	not v.destination == true
	source_named(v)
}

source_named(v) if regex.match(
	`(?i)(^|[._\]])(debit|debtor|from|source|origin|originator|ordering|funding|payer|paying|sender)_[a-z_]*(account|iban|acct)[a-z_]*$`,
	v.path,
)

callback := "call the payee back on a number you already have (not one from this request or its documents) before approving"

step_up(policy_id, reason) := {
	"approvers": ["finance"],
	"effect": "STEP_UP",
	"policy_id": policy_id,
	"priority": aarm.priority.context,
	"reason": reason,
	"risk": "HIGH",
}

findings contains {
	"effect": "DENY",
	"policy_id": "payee-untrusted",
	"priority": aarm.priority.context,
	"reason": concat("", [
		aarm.payment_label, " to ", aarm.value_label(v), ", ", aarm.origin_label(v),
		", which is not in the payee register: bank details that arrive in content are how invoice fraud works: denied",
	]),
	"risk": "HIGH",
} if {
	paying
	some v in aarm.flow_values
	paid_to(v)
	v.origin == "untrusted"
}

# register_kept: the organisation lists its payees in data.aarm.org.payees (entries marked
# "example", such as the shipped defaults' p-1001, do not count).
register_kept if {
	some entry in data.aarm.org.payees
	not entry.example == true
}

# unvouched(v): an unregistered value a payment or an account change should not take on
# its own: with a register, any not from untrusted content (that is payee-untrusted's);
# without one, only what the session has never seen.
unvouched(v) if {
	register_kept
	v.origin != "untrusted"
}

unvouched(v) if {
	not register_kept
	v.origin == "new"
}

findings contains step_up("payee-unregistered", concat("", [
	aarm.payment_label, " to ", aarm.value_label(v), ", ", aarm.origin_label(v),
	", which is not in the payee register: ", callback,
])) if {
	aarm.lets_through
	paying
	some v in aarm.flow_values
	paid_to(v)
	unvouched(v)
}

findings contains step_up("payee-unreadable", concat("", [
	aarm.payment_label, " whose destination parameter ", p,
	" cannot be read as an account or payee, so it cannot be checked against the payee register: ", callback,
])) if {
	aarm.lets_through
	paying
	some p in aarm.flow_unreadable
}

findings contains step_up("bank-account-change", concat("", [
	aarm.tool, " sets ", aarm.value_label(v), ", ", aarm.origin_label(v),
	", an account that is neither the organisation's nor a registered payee's: ", callback,
])) if {
	aarm.lets_through
	not paying
	"write" in aarm.operations
	some v in aarm.flow_values
	unregistered(v)
	v.kind == "account"
	unvouched(v)
}

# --- splitting -----------------------------------------------------------------------------

# thresholds: the large-payment thresholds that apply to this payment.
thresholds contains t if {
	t := data.aarm.org.limits.single_payment
	is_number(t)
}

thresholds contains t if {
	t := data.aarm.org.limits.single_payment[aarm.flow_amount.currency]
	is_number(t)
}

thresholds contains t if {
	some e in aarm.catalog_entry.effects
	e.effect in {"STEP_UP", "DEFER", "DENY"}
	e.when.param in amount_params
	some test in ["above", "at_least"]
	t := e.when[test]
	is_number(t)
}

amount_params := {v.param | some v in aarm.flow_values; v.kind == "amount"} | {"amount"}

findings contains step_up("payment-splitting", concat("", [
	payee_label, " was paid ", format_int(earlier.count, 10), " times in the last hour (",
	sprintf("%v", [earlier.amount]), "); with ", aarm.payment_label, " the hour reaches ", sprintf("%v", [total]),
	", above the ", sprintf("%v", [limit]),
	" that needs approval for one payment, while each stays under it: confirm this is not one payment split to avoid approval",
])) if {
	aarm.lets_through
	paying
	earlier := aarm.flow_session.totals.payments_to_payee_hour
	aarm.whole(earlier.count)
	is_number(earlier.amount)
	split_pattern(earlier, aarm.flow_amount.value)
	count(thresholds) > 0
	limit := min(thresholds)
	this := aarm.flow_amount.value
	this <= limit
	total := earlier.amount + this
	total > limit
}

# split_pattern: two or more earlier payments, or one earlier payment of exactly the
# same amount (equal instalments are how one invoice is cut under a limit; two
# invoices of different amounts are two invoices).
split_pattern(earlier, _) if earlier.count >= 2

split_pattern(earlier, this) if {
	earlier.count >= 1
	earlier.amount == earlier.count * this
}

payee_label := aarm.value_labels(payees) if {
	payees := {v | some v in aarm.destinations; v.kind in aarm.money_kinds}
	count(payees) > 0
} else := "this payee"
