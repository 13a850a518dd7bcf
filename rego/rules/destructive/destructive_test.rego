# Tests of destructive.rego (aarm.rules.destructive), alone and through the real combiner.
package rules_test.destructive

import data.flow_fixtures as fx

findings(inp) := {f | some f in fx.findings("destructive", inp); f.policy_id != "no-prod-drop"}

run(tool, params, v) := fx.act(tool, params, fx.flow(["execute"], [v], fx.trusted), "INTERNAL")

cmd(text, flags) := fx.val("command", "command", text, {"flags": flags})

sql(text, flags) := fx.val("sql", "sql", text, {"flags": flags})

test_a_destructive_command_steps_up_for_the_owners if {
	inp := run("shell.run", {"command": "rm -rf build/"}, cmd("rm -rf build/", ["destructive"]))
	d := fx.decide(inp)
	d.decision == "STEP_UP"
	d.approvers == ["owners"]
	d.reasons == [{
		"effect": "STEP_UP",
		"policy_id": "destructive-operation",
		"priority": 50,
		"reason": "parameter command (a command line) is destructive and cannot be undone: confirm it is meant",
		"risk": "HIGH",
	}]
	fx.decide(run("deploy.run", {"command": "x"}, cmd("helm uninstall web", ["destructive"]))).approvers == ["release-managers"]
}

test_a_force_push_to_a_protected_branch_is_denied if {
	inp := run("shell.run", {"command": "git push --force origin main"}, cmd("git push --force origin main", ["destructive", "protected"]))
	fx.decide(inp).reasons == [{
		"effect": "DENY",
		"policy_id": "destructive-protected",
		"priority": 50,
		"reason": "parameter command (a command line) is destructive on a protected branch: denied",
		"risk": "CRITICAL",
	}]
}

push(params) := fx.act("git.push", params, fx.flow(["write"], [], fx.trusted), "INTERNAL")

# The pack's findings for a push, with the shipped org data (main and release/* protected).
push_findings(params) := fs if {
	fs := data.aarm.rules.destructive.findings with input as push(params)
}

test_a_force_push_given_as_parameters_to_a_protected_branch_is_denied if {
	push_findings({"repo": "acme/api", "branch": "main", "source": "fix/csv", "force": true}) == {{
		"effect": "DENY",
		"policy_id": "destructive-protected",
		"priority": 50,
		"reason": "parameter force forces a push to main (parameter branch), a protected branch: its history would be rewritten: denied",
		"risk": "CRITICAL",
	}}

	# the shipped default branches are main and release/*; refs/heads/ and "yes" spell the same
	ids({"ref": "refs/heads/release/2.4", "force_push": "yes"}) == {"destructive-protected"}
	ids({"branch": "trunk", "force": true}) == {"destructive-protected"} with data.aarm.org.protected_branches as ["trunk"]
}

ids(params) := {f.policy_id | some f in push_findings(params)}

test_a_push_given_as_parameters_is_denied_only_when_forced_to_a_protected_branch if {
	count(push_findings({"branch": "main", "force": false})) == 0
	count(push_findings({"branch": "main"})) == 0
	count(push_findings({"branch": "fix/csv-bom", "force": true})) == 0
	count(push_findings({"branch": "main", "force": true})) == 0 with data.aarm.org.protected_branches as ["trunk"]
}

test_a_drop_of_a_protected_resource_is_denied if {
	every inp in [
		run("db.query", {"sql": "DROP DATABASE production;"}, sql("DROP DATABASE production;", ["destructive"])),
		run("db.query", {"sql": "TRUNCATE prod.users"}, sql("TRUNCATE prod.users", ["destructive"])),
		run("db.query", {"sql": "DROP TABLE users", "database": " Production "}, sql("DROP TABLE users", ["destructive"])),
		run("shell.run", {"command": "kubectl --context=prod delete ns web"}, cmd("kubectl --context=prod delete ns web", ["destructive"])),
		run("shell.run", {"command": "dropdb billing-eu"}, cmd("dropdb billing-eu", ["destructive"])),
	] {
		d := fx.decide(inp)
		d.decision == "DENY"
		fx.ids(d) == ["destructive-protected"]
	}
	some f in findings(run("db.query", {"sql": "x"}, sql("DROP DATABASE production;", ["destructive"])))
	f.reason == "parameter sql (an SQL statement) is destructive on the protected resource production: denied"
}

test_a_bulk_delete_steps_up if {
	every params in [{"path": "/srv/reports", "recursive": true}, {"folder": "inbox", "all": "yes"}, {"ids": "*"}, {"paths": ["/tmp/a", "/data/*.csv"]}] {
		inp := fx.act("files.delete", params, fx.flow(["delete"], [], fx.trusted), "INTERNAL")
		some f in findings(inp)
		f.policy_id == "bulk-delete"
		f.effect == "STEP_UP"
	}
	some f in findings(fx.act("files.delete", {"path": "/srv/reports", "recursive": true}, fx.flow(["delete"], [], fx.trusted), "INTERNAL"))
	f.reason == "files.delete deletes many items at once (parameter recursive): confirm what it will remove"
}

# --- the benign look-alikes -------------------------------------------------------------------

test_harmless_code_is_not_judged if {
	count(findings(run("shell.run", {"command": "ls -la"}, cmd("ls -la", [])))) == 0
	count(findings(run("db.query", {"sql": "DELETE FROM carts WHERE id = 4"}, sql("DELETE FROM carts WHERE id = 4", [])))) == 0
}

test_the_word_prod_elsewhere_does_not_protect if {
	inp := run("shell.run", {"command": "rm -rf products/", "note": "before the prod release"}, cmd("rm -rf products/", ["destructive"]))
	{f.policy_id | some f in findings(inp)} == {"destructive-operation"}
}

test_single_deletes_are_not_judged if {
	every params in [{"path": "/tmp/a.txt"}, {"id": "m-42", "recursive": false}, {"all": "no"}] {
		count(findings(fx.act("files.delete", params, fx.flow(["delete"], [], fx.trusted), "INTERNAL"))) == 0
	}

	# a wildcard in a write is no delete
	count(findings(fx.act("files.write", {"path": "/tmp/*.txt"}, fx.flow(["write"], [], fx.trusted), "INTERNAL"))) == 0
}

test_protected_resources_come_from_org_data if {
	inp := run("db.query", {"sql": "x"}, sql("DROP TABLE ledger", ["destructive"]))
	fs := data.aarm.rules.destructive.findings with input as inp with data.aarm.catalog.tools as fx.tools with data.aarm.org.protected_resources as ["ledger"]
	{f.policy_id | some f in fs} == {"destructive-protected"}
	gs := data.aarm.rules.destructive.findings with input as inp with data.aarm.catalog.tools as fx.tools with data.aarm.org.protected_resources as "ledger"
	{f.policy_id | some f in gs} == {"destructive-operation"}
}

test_silent_without_a_flow_but_bulk_deletes if {
	count(findings(fx.without_flow(run("shell.run", {"command": "x"}, cmd("rm -rf /", ["destructive"]))))) == 0
	bulk := fx.without_flow(fx.act("files.delete", {"path": "*"}, fx.flow(["delete"], [], fx.trusted), "INTERNAL"))
	{f.policy_id | some f in findings(bulk)} == {"bulk-delete"}
}

test_no_step_up_on_a_tool_held_by_its_baseline if {
	count(findings(run("blocked.tool", {"command": "x"}, cmd("rm -rf build/", ["destructive"])))) == 0
	{f.policy_id | some f in findings(run("blocked.tool", {"command": "x"}, cmd("git push -f origin main", ["destructive", "protected"])))} == {"destructive-protected"}
}

asked(inp) := json.patch(inp, [{"op": "add", "path": "/flow/intent", "value": {"present": true, "actions": ["delete"]}}])

test_a_deletion_the_user_asked_for_is_not_stepped_up if {
	count(findings(asked(run("shell.run", {"command": "rm -rf build/"}, cmd("rm -rf build/", ["destructive"]))))) == 0
	count(findings(asked(fx.act("files.delete", {"path": "/srv/old", "recursive": true}, fx.flow(["delete"], [], fx.trusted), "INTERNAL")))) == 0

	# but never on a protected target
	push := run("shell.run", {"command": "git push --force origin main"}, cmd("git push --force origin main", ["destructive", "protected"]))
	fx.decide(asked(push)).decision == "DENY"
}

env_session(facts) := object.union(fx.trusted, {"facts": facts})

env_rm := cmd("kubectl delete ns loadtest-1", ["destructive"])

env_inp(facts) := fx.act("shell.run", {"command": env_rm.value}, fx.flow(["execute"], [env_rm], env_session(facts)), "INTERNAL")

test_a_destructive_command_in_a_production_environment_is_denied if {
	d := fx.decide(asked(env_inp({"kube_context": "prod-us-east-1"})))
	d.decision == "DENY"
	fx.ids(d) == ["destructive-protected"]
	contains(d.reasons[0].reason, "while the environment is prod (reported by an outcome)")

	# in staging, what the user asked for goes ahead
	fx.decide(asked(env_inp({"kube_context": "staging-eu-1"}))).decision == "ALLOW"
}
