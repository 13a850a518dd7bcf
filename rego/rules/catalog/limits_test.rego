# Tests of the organisation's session limits (limits.rego), alone and through the
# real combiner, with input.flow written by hand as the service sends it.
package rules_test.catalog_limits

tools := {
	"pay.t": {"operation": "pay", "default_decision": "ALLOW"},
	"send.t": {"operation": "send", "default_decision": "ALLOW"},
	"write.t": {"operation": "write", "default_decision": "ALLOW"},
}

limits := {
	"paid_per_session": {"USD": 20000, "EUR": 15000},
	"paid_per_hour": {"USD": 10000},
	"external_sends_per_hour": 20,
	"records_read_before_export": 1000,
	"approvers": ["finance"],
}

limit_findings(inp, lim) := {f |
	some f in data.aarm.rules.catalog.findings with input as inp with data.aarm.catalog.tools as tools with data.aarm.org.limits as lim
	startswith(f.policy_id, "catalog.limits")
}

# The reasons of the limit findings, by policy_id.
reasons(inp) := {f.policy_id: f.reason | some f in limit_findings(inp, limits)}

decide(inp) := d if {
	d := data.aarm.decision with input as inp with data.aarm.catalog.tools as tools with data.aarm.org.limits as limits
}

pay(amount, totals) := {
	"action": {"tool": "pay.t", "parameters": {}},
	"flow": {"amount": amount, "session": {"totals": totals}},
}

usd(n) := {"value": n, "currency": "USD"}

outside := {
	"path": "to", "param": "to", "kind": "email", "destination": true, "inside": false,
	"reason": "domain evil.io is outside the organisation",
}

inside := {"path": "to", "param": "to", "kind": "email", "destination": true, "inside": true}

send(values, totals) := {
	"action": {"tool": "send.t", "parameters": {}},
	"flow": {"values": values, "session": {"totals": totals}},
}

# --- paid per session / per hour ------------------------------------------------------------

test_a_payment_over_the_session_limit_steps_up if {
	limit_findings(pay(usd(1200), {"paid": {"USD": 19000}, "paid_hour": {"USD": 500}}), limits) == {{
		"approvers": ["finance"],
		"effect": "STEP_UP",
		"policy_id": "catalog.limits.paid_per_session",
		"priority": 50,
		"reason": "payments in this session would reach 20200 USD, above the limit of 20000 USD per session (paid so far 19000, this payment 1200)",
		"risk": "HIGH",
	}}
	d := decide(pay(usd(1200), {"paid": {"USD": 19000}}))
	[d.decision, d.approvers] == ["STEP_UP", ["finance"]]
}

test_a_payment_over_the_hourly_limit_steps_up if {
	reasons(pay(usd(2500), {"paid": {"USD": 8000}, "paid_hour": {"USD": 8000}})) == {"catalog.limits.paid_per_hour": "payments in the last hour would reach 10500 USD, above the limit of 10000 USD per hour (paid so far 8000, this payment 2500)"}
}

test_reaching_a_limit_is_not_above_it if {
	reasons(pay(usd(1000), {"paid": {"USD": 19000}, "paid_hour": {"USD": 9000}})) == {}
	reasons(pay(usd(100), {})) == {}
}

test_a_changed_limit_changes_the_decision_and_the_reason if {
	inp := pay(usd(1200), {"paid": {"USD": 19000}})
	count(limit_findings(inp, object.union(limits, {"paid_per_session": {"USD": 50000}}))) == 0
	[f] := [f | some f in limit_findings(inp, object.union(limits, {"paid_per_session": {"USD": 20100}}))]
	f.reason == "payments in this session would reach 20200 USD, above the limit of 20100 USD per session (paid so far 19000, this payment 1200)"
}

test_limits_are_per_currency if {
	# EUR has its own session limit and no hourly one; GBP none at all.
	reasons(pay({"value": 12000, "currency": "EUR"}, {"paid": {"USD": 19000, "EUR": 4000}})) == {"catalog.limits.paid_per_session": "payments in this session would reach 16000 EUR, above the limit of 15000 EUR per session (paid so far 4000, this payment 12000)"}
	reasons(pay({"value": 1000000, "currency": "GBP"}, {})) == {}

	# Currency names compare case-insensitively.
	reasons(pay({"value": 12000, "currency": " usd"}, {"paid": {"usd": 9000}})) == {
		"catalog.limits.paid_per_session": "payments in this session would reach 21000 USD, above the limit of 20000 USD per session (paid so far 9000, this payment 12000)",
		"catalog.limits.paid_per_hour": "payments in the last hour would reach 12000 USD, above the limit of 10000 USD per hour (paid so far 0, this payment 12000)",
	}
}

test_a_payment_of_unknown_currency_counts_against_every_limit if {
	{p | some p, _ in reasons(pay({"value": 16000}, {}))} == {"catalog.limits.paid_per_session", "catalog.limits.paid_per_hour"}
	[f] := [f | some f in limit_findings(pay({"value": 16000, "currency": null}, {}), {"paid_per_session": {"EUR": 15000}})]
	f.reason == "payments in this session would reach 16000 EUR, above the limit of 15000 EUR per session (paid so far 0, this payment 16000)"
}

test_a_payment_whose_amount_cannot_be_read_steps_up if {
	every amount in [null, {"value": "12000"}, {"currency": "USD"}, "12000"] {
		{f.reason | some f in limit_findings(pay(amount, {}), limits)} == {
			"the amount of this payment cannot be read, so the limit of 20000 USD per session cannot be checked",
			"the amount of this payment cannot be read, so the limit of 15000 EUR per session cannot be checked",
			"the amount of this payment cannot be read, so the limit of 10000 USD per hour cannot be checked",
		}
	}
}

test_a_paid_total_that_cannot_be_read_steps_up if {
	reasons(pay(usd(1), {"paid": {"USD": "lots"}})) == {"catalog.limits.paid_per_session": "the session's total paid cannot be read, so the limit of 20000 USD per session cannot be checked"}
	reasons(pay(usd(1), {"paid_hour": [5]})) == {"catalog.limits.paid_per_hour": "the session's total paid_hour cannot be read, so the limit of 10000 USD per hour cannot be checked"}
}

test_only_payments_count if {
	not_a_payment := {"action": {"tool": "write.t", "parameters": {}}, "flow": {"amount": usd(50000), "session": {"totals": {}}}}
	reasons(not_a_payment) == {}

	# The flow's operations decide, when the service sent them.
	as_pay := {"action": {"tool": "write.t", "parameters": {}}, "flow": {"operations": ["pay"], "amount": usd(50000)}}
	{p | some p, _ in reasons(as_pay)} == {"catalog.limits.paid_per_session", "catalog.limits.paid_per_hour"}
}

# --- external sends per hour, records read before an export ------------------------------------

test_external_sends_per_hour if {
	reasons(send([outside], {"external_sends_hour": 20})) == {"catalog.limits.external_sends_per_hour": "external sends in the last hour would reach 21, above the limit of 20 per hour (to: domain evil.io is outside the organisation)"}
	reasons(send([outside], {"external_sends_hour": 19})) == {}
	reasons(send([outside], {})) == {}
	reasons(send([inside], {"external_sends_hour": 500})) == {}
}

test_an_unreadable_destination_counts_as_outside if {
	inp := {"action": {"tool": "send.t", "parameters": {}}, "flow": {"values": [inside], "unreadable": ["cc"], "session": {"totals": {"external_sends_hour": 20}}}}
	reasons(inp) == {"catalog.limits.external_sends_per_hour": "external sends in the last hour would reach 21, above the limit of 20 per hour (cc unreadable)"}
}

test_records_read_before_an_export if {
	reasons(send([outside], {"records_read": 1500})) == {"catalog.limits.records_read_before_export": "the session has read 1500 records, above the limit of 1000 before a send outside the organisation (to: domain evil.io is outside the organisation)"}
	reasons(send([outside], {"records_read": 1000})) == {}
	reasons(send([inside], {"records_read": 1000000})) == {}
}

test_a_count_that_cannot_be_read_steps_up if {
	reasons(send([outside], {"external_sends_hour": "many", "records_read": null})) == {
		"catalog.limits.external_sends_per_hour": "the session's total external_sends_hour cannot be read, so the limit of 20 per hour cannot be checked",
		"catalog.limits.records_read_before_export": "the session's total records_read cannot be read, so the limit of 1000 before a send outside the organisation cannot be checked",
	}
}

test_only_sends_count if {
	inp := {"action": {"tool": "pay.t", "parameters": {}}, "flow": {"values": [outside], "amount": usd(1), "session": {"totals": {"external_sends_hour": 100, "records_read": 100000}}}}
	reasons(inp) == {}
}

# --- approvers, no flow, no limits ---------------------------------------------------------------

test_approvers_default_to_security if {
	fs := limit_findings(send([outside], {"external_sends_hour": 50}), object.remove(limits, ["approvers"]))
	[f.approvers | some f in fs] == [["security"]]
}

test_without_a_flow_or_limits_nothing if {
	reasons({"action": {"tool": "pay.t", "parameters": {"amount": 1000000}}}) == {}
	reasons({"action": {"tool": "send.t", "parameters": {"to": "x@evil.io"}}}) == {}
	every lim in [{}, {"paid_per_session": {}}] {
		count(limit_findings(pay(usd(1000000), {"paid": {"USD": 1e9}}), lim)) == 0
	}
	fs := data.aarm.rules.catalog.findings with input as pay(usd(1000000), {}) with data.aarm.catalog.tools as tools with data.aarm.org as {}
	{f.policy_id | some f in fs} == {"catalog"}
}

# --- fail closed ------------------------------------------------------------------------------------

test_malformed_limits_deny_every_action if {
	every lim, problem in {
		"20000": "limits is not an object",
		{"paid_per_session": 20000}: "paid_per_session is not an object of currency: number of at least 0",
		{"paid_per_hour": {"USD": -1}}: "paid_per_hour is not an object of currency: number of at least 0",
		{"paid_per_hour": {"USD": "10000"}}: "paid_per_hour is not an object of currency: number of at least 0",
		{"external_sends_per_hour": "20"}: "external_sends_per_hour is not a number of at least 0",
		{"records_read_before_export": -5}: "records_read_before_export is not a number of at least 0",
		{"approvers": "finance"}: "approvers is not an array of strings",
	} {
		inp := {"action": {"tool": "write.t", "parameters": {}}}
		limit_findings(inp, lim) == {{
			"effect": "DENY",
			"forbidden": true,
			"policy_id": "catalog.limits",
			"priority": 50,
			"reason": concat("", ["the organisation's limits (data.aarm.org.limits) are malformed (", problem, "): denied"]),
			"risk": "HIGH",
		}}
		d := data.aarm.decision with input as inp with data.aarm.catalog.tools as tools with data.aarm.org.limits as lim
		d.decision == "DENY"
	}
}

test_other_keys_of_limits_belong_to_other_packs if {
	count(limit_findings(pay(usd(1), {}), object.union(limits, {"single_payment": {"EUR": 5000}}))) == 0
}

test_the_shipped_limits_are_well_formed if {
	count(data.aarm.rules.catalog.limit_problems) == 0
	data.aarm.org.limits.paid_per_session.USD == 50000
	inp := {
		"action": {"tool": "payments.transfer", "parameters": {"amount": 25000, "to": "p-1001"}},
		"flow": {"amount": usd(25000), "session": {"totals": {}}},
	}
	d := data.aarm.decision with input as inp
	d.decision == "STEP_UP"
	d.approvers == ["finance", "security"]
	[r.policy_id | some r in d.reasons] == ["catalog.effects.large-transfer", "catalog.limits.paid_per_hour"]
}
