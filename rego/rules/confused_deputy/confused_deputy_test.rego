# Tests of aarm.rules.confused_deputy, alone and through the real combiner.
package rules_test.confused_deputy

import data.flow_fixtures as fx

findings(inp) := fx.findings("confused_deputy", inp)

ticket := fx.untrusted("tickets.read", 0.1, 1)

share(v, session) := fx.act("drive.share", {"grantee": v.value, "role": "reader"}, fx.flow(["grant"], [v], session), "INTERNAL")

principal(value, inside, origin) := fx.val("grantee", "principal", value, {"destination": true, "inside": inside, "origin": origin, "source": {"tool": "tickets.read"}})

test_a_grant_to_an_outsider_named_by_a_ticket_is_denied if {
	d := fx.decide(share(principal("attacker@external.com", false, "untrusted"), ticket))
	d.decision == "DENY"
	d.reasons == [{
		"effect": "DENY",
		"policy_id": "confused-deputy",
		"priority": 50,
		"reason": "a grant of access to parameter grantee (attacker@external.com), first seen in untrusted output of tickets.read, outside the organisation: content someone outside wrote cannot hand out access: denied",
		"risk": "HIGH",
	}]
}

test_a_grant_to_a_colleague_named_by_a_ticket_is_routine_unless_the_content_looks_injected if {
	# helpdesk work: a ticket asks for access for a colleague
	count(fx.findings("confused_deputy", share(principal("bob@acme.com", true, "untrusted"), ticket))) == 0
	d := fx.decide(share(principal("bob@acme.com", true, "untrusted"), fx.untrusted("tickets.read", 0.6, 1)))
	d.decision == "STEP_UP"
	d.approvers == ["security"]
	d.reasons[0].reason == "a grant of access to parameter grantee (bob@acme.com), first seen in untrusted output of tickets.read: confirm that the requester, not the content, asked for this access"
}

test_privileged_sql_from_untrusted_content_is_denied if {
	sql := fx.val("sql", "sql", "GRANT ALL ON payroll TO mallory", {"origin": "untrusted", "flags": ["privilege"], "source": {"tool": "web.fetch"}})
	inp := fx.act("db.query", {"sql": sql.value}, fx.flow(["read", "write"], [sql], ticket), "INTERNAL")
	fx.findings("confused_deputy", inp) == {{
		"effect": "DENY",
		"policy_id": "confused-deputy",
		"priority": 50,
		"reason": "parameter sql (an SQL statement) changes privileges and first seen in untrusted output of web.fetch: content someone outside wrote cannot change privileges: denied",
		"risk": "HIGH",
	}}
}

test_privileged_code_for_a_principal_from_untrusted_content_is_denied if {
	cmd := fx.val("command", "command", "gh api -X PUT /orgs/acme/memberships/eve -f role=admin", {"origin": "new", "flags": ["privilege"]})
	user := fx.val("user", "principal", "eve", {"origin": "untrusted", "inside": true, "source": {"tool": "mail.read"}})
	inp := fx.act("shell.run", {"command": cmd.value, "user": "eve"}, fx.flow(["execute"], [cmd, user], ticket), "INTERNAL")
	d := fx.decide(inp)
	d.decision == "DENY"
	d.reasons[0].reason == "parameter command (a command line) changes privileges for parameter user (eve), first seen in untrusted output of mail.read: content someone outside wrote cannot change privileges: denied"
}

drop := fx.val("sql", "sql", "DROP TABLE sessions", {"origin": "new", "flags": ["destructive"]})

test_destructive_sql_right_after_untrusted_content_steps_up_for_security if {
	inp := fx.act("db.query", {"sql": "DROP TABLE sessions"}, fx.flow(["read", "write"], [drop], fx.untrusted("logs.read", 0.1, 2)), "INTERNAL")
	fx.findings("confused_deputy", inp) == {{
		"approvers": ["security"],
		"effect": "STEP_UP",
		"policy_id": "confused-deputy",
		"priority": 50,
		"reason": "parameter sql (an SQL statement) is destructive; requested right after the session read untrusted content from logs.read: confirm that the requester, not that content, asked for it",
		"risk": "HIGH",
	}}
}

test_a_bulk_delete_right_after_untrusted_content_steps_up if {
	inp := fx.act("files.delete", {"path": "/srv/reports/*"}, fx.flow(["delete"], [], ticket), "INTERNAL")
	some f in findings(inp)
	f.effect == "STEP_UP"
	startswith(f.reason, "the delete covers many items (parameter path);")
}

# --- the benign look-alikes -------------------------------------------------------------------

test_grants_the_user_asked_for_are_not_judged_here if {
	every origin in ["intent", "trusted", "new"] {
		count(findings(share(principal("attacker@external.com", false, origin), ticket))) == 0
	}
}

test_privileged_sql_the_user_wrote_is_not_judged_here if {
	sql := fx.val("sql", "sql", "GRANT SELECT ON reports TO analyst", {"origin": "intent", "flags": ["privilege"]})
	count(findings(fx.act("db.query", {"sql": sql.value}, fx.flow(["read", "write"], [sql], ticket), "INTERNAL"))) == 0
}

test_destructive_work_long_after_or_without_untrusted_content_is_not_judged_here if {
	every session in [fx.trusted, fx.untrusted("logs.read", 0.1, 4)] {
		inp := fx.act("db.query", {"sql": "DROP TABLE sessions"}, fx.flow(["read", "write"], [drop], session), "INTERNAL")
		count(findings(inp)) == 0
	}
}

test_a_single_delete_after_reading_mail_is_not_judged_here if {
	inp := fx.act("mail.delete", {"id": "m-42"}, fx.flow(["delete"], [], fx.untrusted("mail.read", 0.1, 1)), "INTERNAL")
	count(findings(inp)) == 0
	fx.decide(inp).decision == "ALLOW"
}

test_destructive_text_from_the_content_itself_is_left_to_malicious_output if {
	from_content := fx.val("sql", "sql", "DROP TABLE users", {"origin": "untrusted", "flags": ["destructive"]})
	inp := fx.act("db.query", {"sql": "DROP TABLE users"}, fx.flow(["read", "write"], [from_content], ticket), "INTERNAL")
	count(findings(inp)) == 0
	"malicious-output" in fx.ids(fx.decide(inp))
}

test_silent_without_a_flow if {
	count(findings(fx.without_flow(share(principal("attacker@external.com", false, "untrusted"), ticket)))) == 0
}

test_a_deletion_the_user_asked_for_after_reading_untrusted_content_is_allowed if {
	rm := fx.val("command", "command", "kubectl delete ns loadtest-1", {"flags": ["destructive"]})
	inp := fx.act("shell.run", {"command": rm.value}, fx.flow(["execute"], [rm], fx.untrusted("ci.logs", 0.1, 1)), "INTERNAL")
	some f in fx.findings("confused_deputy", inp)
	f.effect == "STEP_UP"
	asked := json.patch(inp, [{"op": "add", "path": "/flow/intent", "value": {"present": true, "actions": ["delete"]}}])
	count(fx.findings("confused_deputy", asked)) == 0
}
