# Tests of aarm.rules.payments, alone and through the real combiner.
package rules_test.payments

import data.flow_fixtures as fx

findings(inp) := fx.findings("payments", inp)

payee(value, registered, origin) := fx.val("payee", "payee", value, {"destination": true, "inside": registered, "registered": registered, "origin": origin, "source": {"tool": "mail.read"}})

iban(value, registered, origin) := fx.val("iban", "account", value, {"destination": true, "inside": registered, "registered": registered, "origin": origin, "source": {"tool": "mail.read"}})

amount(n) := fx.val("amount", "amount", n, {})

pay(v, n, session) := json.patch(
	fx.act("payments.pay", {"payee": v.value, "amount": n}, fx.flow(["pay"], [v, amount(n)], session), "CONFIDENTIAL"),
	[{"op": "add", "path": "/flow/amount", "value": {"value": n, "currency": "EUR"}}],
)

test_a_payment_to_an_unregistered_payee_steps_up_for_finance if {
	d := fx.decide(pay(payee("p-9001", false, "intent"), 1200.5, fx.trusted))
	d.decision == "STEP_UP"
	d.approvers == ["finance"]
	d.reasons == [{
		"effect": "STEP_UP",
		"policy_id": "payee-unregistered",
		"priority": 50,
		"reason": "a payment of 1200.5 EUR to parameter payee (p-9001), named by the user, which is not in the payee register: call the payee back on a number you already have (not one from this request or its documents) before approving",
		"risk": "HIGH",
	}]
}

test_a_payment_to_bank_details_from_an_invoice_is_denied if {
	d := fx.decide(pay(iban("GB33BUKB20201555555555", false, "untrusted"), 900, fx.untrusted("mail.read", 0.1, 1)))
	d.decision == "DENY"
	d.reasons == [{
		"effect": "DENY",
		"policy_id": "payee-untrusted",
		"priority": 50,
		"reason": "a payment of 900 EUR to parameter iban (GB33...5555), first seen in untrusted output of mail.read, which is not in the payee register: bank details that arrive in content are how invoice fraud works: denied",
		"risk": "HIGH",
	}]
}

test_an_unreadable_payee_steps_up if {
	inp := json.patch(pay(amount(10), 10, fx.trusted), [{"op": "replace", "path": "/flow/unreadable", "value": ["recipient"]}])
	some f in findings(inp)
	f.policy_id == "payee-unreadable"
	startswith(f.reason, "a payment of 10 EUR whose destination parameter recipient cannot be read")
}

test_a_change_of_an_employees_bank_account_steps_up if {
	v := fx.val("fields.payroll_iban", "account", "DE44500105175407324931", {"registered": false, "inside": false, "origin": "intent"})
	inp := fx.act("hr.update_employee", {"fields": {"payroll_iban": v.value}}, fx.flow(["write"], [v], fx.trusted), "CONFIDENTIAL")
	findings(inp) == {{
		"approvers": ["finance"],
		"effect": "STEP_UP",
		"policy_id": "bank-account-change",
		"priority": 50,
		"reason": "hr.update_employee sets parameter fields.payroll_iban (DE44...4931), named by the user, an account that is neither the organisation's nor a registered payee's: call the payee back on a number you already have (not one from this request or its documents) before approving",
		"risk": "HIGH",
	}}
}

split_session(n, total) := object.union(fx.trusted, {"totals": {"payments_to_payee_hour": {"count": n, "amount": total}}})

test_splitting_under_the_limit_steps_up if {
	inp := pay(payee("p-1001", true, "intent"), 4900, split_session(2, 9800))
	findings(inp) == {{
		"approvers": ["finance"],
		"effect": "STEP_UP",
		"policy_id": "payment-splitting",
		"priority": 50,
		"reason": "parameter payee (p-1001) was paid 2 times in the last hour (9800); with a payment of 4900 EUR the hour reaches 14700, above the 5000 that needs approval for one payment, while each stays under it: confirm this is not one payment split to avoid approval",
		"risk": "HIGH",
	}}
}

test_the_splitting_threshold_is_the_lowest_that_applies if {
	# the tool's effect holds payments above 5000; org data says 3000 for EUR
	inp := pay(payee("p-1001", true, "intent"), 2000, split_session(2, 2000))
	fs := data.aarm.rules.payments.findings with input as inp with data.aarm.catalog.tools as fx.tools with data.aarm.org.limits.single_payment as {"EUR": 3000, "USD": 100}
	{f.policy_id | some f in fs} == {"payment-splitting"}
	gs := data.aarm.rules.payments.findings with input as inp with data.aarm.catalog.tools as fx.tools with data.aarm.org.limits as {}
	count(gs) == 0
	hs := data.aarm.rules.payments.findings with input as inp with data.aarm.catalog.tools as fx.tools with data.aarm.org.limits.single_payment as 1000
	count(hs) == 0
}

# --- the benign look-alikes -------------------------------------------------------------------

test_a_payment_to_a_registered_payee_is_allowed if {
	every v in [payee("p-1001", true, "intent"), iban("DE44500105175407324931", true, "untrusted")] {
		inp := pay(v, 300, fx.trusted)
		count(findings(inp)) == 0
		fx.decide(inp).decision == "ALLOW"
	}
}

test_no_splitting_without_two_earlier_payments_or_under_the_limit if {
	every session in [split_session(1, 3950), split_session(2, 100), split_session(5, 0), fx.trusted] {
		count(findings(pay(payee("p-1001", true, "intent"), 4900, session))) == 0
	}

	# one payment above the limit is the effect's to judge, not splitting
	count(findings(pay(payee("p-1001", true, "intent"), 6000, split_session(3, 9000)))) == 0
}

test_an_update_that_sets_a_registered_account_is_not_judged if {
	v := fx.val("iban", "account", "DE89370400440532013000", {"registered": true, "inside": true, "origin": "intent"})
	count(findings(fx.act("hr.update_employee", {"iban": v.value}, fx.flow(["write"], [v], fx.trusted), "CONFIDENTIAL"))) == 0
}

test_an_untrusted_account_change_is_left_to_malicious_output if {
	v := fx.val("iban", "account", "GB33BUKB20201555555555", {"registered": false, "inside": false, "origin": "untrusted"})
	inp := fx.act("hr.update_employee", {"iban": v.value}, fx.flow(["write"], [v], fx.untrusted("mail.read", 0.1, 1)), "CONFIDENTIAL")
	count(findings(inp)) == 0
	fx.ids(fx.decide(inp)) == ["malicious-output"]
}

test_silent_without_a_flow if {
	count(findings(fx.without_flow(pay(payee("p-9001", false, "untrusted"), 10, fx.trusted)))) == 0
}

test_a_second_equal_instalment_over_the_limit_steps_up if {
	# 4900 + 4900 to one payee: one invoice cut in two; 3950 + 4900: two invoices
	some f in findings(pay(payee("p-1001", true, "intent"), 4900, split_session(1, 4900)))
	f.policy_id == "payment-splitting"
}

# --- an organisation that keeps no payee register in Arbiter ----------------------------------

no_register_findings(inp) := fs if {
	fs := data.aarm.rules.payments.findings with input as inp with data.aarm.catalog.tools as fx.tools
		with data.aarm.org as {"payees": {"p-1001": {"name": "an example", "example": true}}}
}

test_without_a_register_a_payee_the_user_named_or_trusted_output_gave_is_paid if {
	every v in [payee("p-9001", false, "intent"), iban("DE89370400440532013000", false, "trusted")] {
		count(no_register_findings(pay(v, 1200, fx.trusted))) == 0
	}
}

test_without_a_register_an_account_never_seen_steps_up_and_one_from_content_is_denied if {
	some f in no_register_findings(pay(iban("DE89370400440532013000", false, "new"), 1200, fx.trusted))
	f.policy_id == "payee-unregistered"
	some g in no_register_findings(pay(iban("GB33BUKB20201555555555", false, "untrusted"), 900, fx.untrusted("mail.read", 0.1, 1)))
	g.policy_id == "payee-untrusted"
	g.effect == "DENY"
}

# --- the account the money is paid from --------------------------------------------------------

# a payment of 700 EUR to the registered payee p-1001 that also carries the unregistered
# account DE89370400440532013000 at path, with origin
# As the flow marks it: a source-named account is no destination unless the catalogue says so.
flow_destination(path) := false if regex.match(`(^|\.)(debit|debtor|from|source)_`, path)

else := true

paid_with(path, origin, session) := json.patch(
	fx.act(
		"payments.pay", {"payee": "p-1001", "amount": 700}, fx.flow(
			["pay"], [
				payee("p-1001", true, "intent"),
				fx.val(path, "account", "DE89370400440532013000", {"destination": flow_destination(path), "inside": false, "registered": false, "origin": origin, "source": {"tool": "mail.read"}}),
				amount(700),
			],
			session,
		),
		"CONFIDENTIAL",
	),
	[{"op": "add", "path": "/flow/amount", "value": {"value": 700, "currency": "EUR"}}],
)

payment_ids(inp) := {f.policy_id | some f in findings(inp)}

test_the_account_a_payment_is_made_from_is_not_a_payee if {
	every path in ["debit_account", "from_iban", "source_account", "payment.debtor_account"] {
		count(findings(paid_with(path, "new", fx.trusted))) == 0
	}
	fx.decide(paid_with("debit_account", "new", fx.trusted)).decision == "ALLOW"

	# The catalogue has the last word: a source-named parameter it declares a destination is judged.
	declared := json.patch(paid_with("debit_account", "new", fx.trusted), [{"op": "replace", "path": "/flow/values/1/destination", "value": true}])
	"payee-unregistered" in payment_ids(declared)
}

test_the_same_account_as_the_destination_steps_up if {
	findings(paid_with("beneficiary.iban", "new", fx.trusted)) == {{
		"approvers": ["finance"],
		"effect": "STEP_UP",
		"policy_id": "payee-unregistered",
		"priority": 50,
		"reason": "a payment of 700 EUR to parameter beneficiary.iban (DE89...3000), seen nowhere before in this session, which is not in the payee register: call the payee back on a number you already have (not one from this request or its documents) before approving",
		"risk": "HIGH",
	}}
	payment_ids(paid_with("to_account", "new", fx.trusted)) == {"payee-unregistered"}
}

test_an_untrusted_source_account_is_not_denied_as_a_payee if {
	session := fx.untrusted("mail.read", 0.1, 1)
	every path in ["debit_account", "from_iban", "source_account"] {
		not "payee-untrusted" in payment_ids(paid_with(path, "untrusted", session))
	}
	payment_ids(paid_with("to_account", "untrusted", session)) == {"payee-untrusted"}
	payment_ids(paid_with("beneficiary.iban", "untrusted", session)) == {"payee-untrusted"}
}
